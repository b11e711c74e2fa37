"""Tables of the MLflow tracking adapter: experiments, runs (params, metrics, tags, inputs and
outputs), logged models, proxied run artifacts and multipart uploads, and the link from a
registered version to the logged model it was registered from.

Defined on the same ``metadata`` as ``tables.py`` so Alembic sees one schema. Changed only
together with an Alembic migration. Times are UTC datetimes, never epoch milliseconds.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from .tables import Id, UTCDateTime, _timestamps, metadata

mlflow_experiments = Table(
    "mlflow_experiments",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(500), nullable=False, unique=True),
    Column("artifact_location", Text, nullable=False),
    Column("lifecycle_stage", String(32), nullable=False, default="active"),
    *_timestamps(),
)

mlflow_experiment_tags = Table(
    "mlflow_experiment_tags",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("experiment_id", Id, ForeignKey("mlflow_experiments.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Text, nullable=False),
    UniqueConstraint("experiment_id", "key"),
)

mlflow_runs = Table(
    "mlflow_runs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("run_uuid", String(32), nullable=False, unique=True),
    Column("experiment_id", Id, ForeignKey("mlflow_experiments.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(250), nullable=False, default=""),
    Column("user_id", String(255), nullable=False, default=""),
    Column("status", String(20), nullable=False, default="RUNNING"),
    Column("start_time", UTCDateTime(), nullable=True),
    Column("end_time", UTCDateTime(), nullable=True),
    Column("lifecycle_stage", String(32), nullable=False, default="active"),
    Column("artifact_uri", Text, nullable=False),
    *_timestamps(),
    Index(None, "experiment_id"),
)

mlflow_run_params = Table(
    "mlflow_run_params",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("run_id", Id, ForeignKey("mlflow_runs.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Text, nullable=False),
    UniqueConstraint("run_id", "key"),
)

mlflow_run_tags = Table(
    "mlflow_run_tags",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("run_id", Id, ForeignKey("mlflow_runs.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Text, nullable=False),
    UniqueConstraint("run_id", "key"),
)

mlflow_run_metrics = Table(
    "mlflow_run_metrics",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("run_id", Id, ForeignKey("mlflow_runs.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Float, nullable=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("step", BigInteger, nullable=False, default=0),
    Column("model_id", String(64), nullable=True),
    Column("dataset_name", String(500), nullable=True),
    Column("dataset_digest", String(64), nullable=True),
    Index(None, "run_id", "key"),
    Index(None, "model_id"),
)

mlflow_run_io = Table(
    "mlflow_run_io",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("run_id", Id, ForeignKey("mlflow_runs.id", ondelete="CASCADE"), nullable=False),
    Column("direction", String(8), nullable=False),  # input | output
    Column("kind", String(16), nullable=False),  # dataset | model
    Column("payload", JSON, nullable=False),
    Index(None, "run_id"),
)

mlflow_logged_models = Table(
    "mlflow_logged_models",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("model_id", String(64), nullable=False, unique=True),
    Column("experiment_id", Id, ForeignKey("mlflow_experiments.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(500), nullable=False, default=""),
    Column("source_run_id", String(32), nullable=True),
    Column("model_type", String(500), nullable=True),
    Column("status", String(32), nullable=False),
    Column("status_message", Text, nullable=True),
    Column("artifact_location", Text, nullable=False),
    Column("lifecycle_stage", String(32), nullable=False, default="active"),
    *_timestamps(),
    Index(None, "experiment_id"),
    Index(None, "source_run_id"),
)

mlflow_logged_model_params = Table(
    "mlflow_logged_model_params",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("model_pk", Id, ForeignKey("mlflow_logged_models.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Text, nullable=False),
    UniqueConstraint("model_pk", "key"),
)

mlflow_logged_model_tags = Table(
    "mlflow_logged_model_tags",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("model_pk", Id, ForeignKey("mlflow_logged_models.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Text, nullable=False),
    UniqueConstraint("model_pk", "key"),
)

mlflow_version_links = Table(
    "mlflow_version_links",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("version_id", Id, ForeignKey("versions.id", ondelete="CASCADE"), nullable=False, unique=True),
    Column("model_id", String(64), nullable=False),
    Index(None, "model_id"),
)

mlflow_artifacts = Table(
    "mlflow_artifacts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("path", String(2048), nullable=False, unique=True),
    Column("digest", String(71), nullable=False),
    Column("size", BigInteger, nullable=False),
    *_timestamps(),
    Index(None, "digest"),
)

mlflow_multipart_uploads = Table(
    "mlflow_multipart_uploads",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("path", String(2048), nullable=False),
    Column("num_parts", Integer, nullable=False),
    # Who created the upload: only that principal may send parts, complete or abort it (issue 8 item 5).
    Column("created_by", String(255), nullable=False, server_default=""),
    Column("created_by_id", Id, nullable=True),
    # Refreshed by every part upload; ``uploads purge`` ages an upload by it, not by created_at.
    Column("last_activity_at", UTCDateTime(), nullable=True),
    *_timestamps(),
)

mlflow_experiment_permissions = Table(
    "mlflow_experiment_permissions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("experiment_id", Id, ForeignKey("mlflow_experiments.id", ondelete="CASCADE"), nullable=False),
    Column("principal_id", Id, ForeignKey("principals.id", ondelete="CASCADE"), nullable=True),
    Column("team_id", Id, ForeignKey("teams.id", ondelete="CASCADE"), nullable=True),
    Column("permission", String(16), nullable=False),  # READ | EDIT | MANAGE
    *_timestamps(),
    UniqueConstraint("experiment_id", "principal_id"),
    UniqueConstraint("experiment_id", "team_id"),
    Index(None, "principal_id"),
    Index(None, "team_id"),
)

mlflow_multipart_parts = Table(
    "mlflow_multipart_parts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("upload_id", String(64), ForeignKey("mlflow_multipart_uploads.id", ondelete="CASCADE"), nullable=False),
    Column("part_number", Integer, nullable=False),
    Column("digest", String(71), nullable=False),
    Column("size", BigInteger, nullable=False),
    UniqueConstraint("upload_id", "part_number"),
)
