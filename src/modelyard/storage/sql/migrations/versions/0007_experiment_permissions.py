"""experiment permissions; multipart uploads record their creator and last activity

Revision ID: 0007
Revises: 0004
Create Date: 2026-11-29 11:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import modelyard.storage.sql.tables

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "mlflow_experiment_permissions",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("experiment_id", _ID, nullable=False),
        sa.Column("principal_id", _ID, nullable=True),
        sa.Column("team_id", _ID, nullable=True),
        sa.Column("permission", sa.String(length=16), nullable=False),
        sa.Column("created_at", modelyard.storage.sql.tables.UTCDateTime(), nullable=False),
        sa.Column("updated_at", modelyard.storage.sql.tables.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["mlflow_experiments.id"],
            name=op.f("fk_mlflow_experiment_permissions_experiment_id_mlflow_experiments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["principal_id"],
            ["principals.id"],
            name=op.f("fk_mlflow_experiment_permissions_principal_id_principals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_mlflow_experiment_permissions_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mlflow_experiment_permissions")),
        sa.UniqueConstraint(
            "experiment_id", "principal_id", name=op.f("uq_mlflow_experiment_permissions_experiment_id_principal_id")
        ),
        sa.UniqueConstraint(
            "experiment_id", "team_id", name=op.f("uq_mlflow_experiment_permissions_experiment_id_team_id")
        ),
    )
    op.create_index(
        op.f("ix_mlflow_experiment_permissions_principal_id"),
        "mlflow_experiment_permissions",
        ["principal_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_mlflow_experiment_permissions_team_id"), "mlflow_experiment_permissions", ["team_id"], unique=False
    )
    with op.batch_alter_table("mlflow_multipart_uploads") as batch:
        batch.add_column(sa.Column("created_by", sa.String(length=255), server_default="", nullable=False))
        batch.add_column(sa.Column("created_by_id", _ID, nullable=True))
        batch.add_column(sa.Column("last_activity_at", modelyard.storage.sql.tables.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mlflow_multipart_uploads") as batch:
        batch.drop_column("last_activity_at")
        batch.drop_column("created_by_id")
        batch.drop_column("created_by")
    op.drop_index(op.f("ix_mlflow_experiment_permissions_team_id"), table_name="mlflow_experiment_permissions")
    op.drop_index(op.f("ix_mlflow_experiment_permissions_principal_id"), table_name="mlflow_experiment_permissions")
    op.drop_table("mlflow_experiment_permissions")
