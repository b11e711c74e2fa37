"""The experiment permission rule (domain/experiment_permissions.py), pure."""

from __future__ import annotations

import pytest

from modelyard.domain.experiment_permissions import (
    ExperimentAction,
    ExperimentResource,
    can_on_experiment,
    check_permission,
    effective_permission,
)
from modelyard.domain.permissions import Principal
from modelyard.errors import InvalidArgumentError

USER = Principal("bob", id=7)
ADMIN = Principal("root", id=1, org_admin=True)
R, E, M = ExperimentAction.READ, ExperimentAction.EDIT, ExperimentAction.MANAGE


@pytest.mark.parametrize(
    ("granted", "default", "allowed"),
    [
        ((), "NO_PERMISSIONS", set()),
        ((), "READ", {R}),
        ((), "EDIT", {R, E}),
        (("READ",), "NO_PERMISSIONS", {R}),
        (("EDIT",), "NO_PERMISSIONS", {R, E}),
        (("MANAGE",), "NO_PERMISSIONS", {R, E, M}),
        (("READ", "EDIT"), "NO_PERMISSIONS", {R, E}),  # direct and team grants: the highest counts
        (("READ",), "EDIT", {R, E}),  # a grant never lowers the default
    ],
)
def test_effective_permission_is_the_highest_of_grants_and_default(
    granted: tuple[str, ...], default: str, allowed: set[ExperimentAction]
) -> None:
    resource = ExperimentResource(granted, default)
    assert {a for a in ExperimentAction if can_on_experiment(USER, a, resource)} == allowed


def test_org_admins_manage_every_experiment() -> None:
    assert effective_permission(ADMIN, ExperimentResource((), "NO_PERMISSIONS")) == "MANAGE"


def test_only_read_edit_manage_can_be_granted() -> None:
    assert check_permission("EDIT") == "EDIT"
    for bad in ("NO_PERMISSIONS", "OWNER", "read", None, 3):
        with pytest.raises(InvalidArgumentError):
            check_permission(bad)
    assert check_permission("NO_PERMISSIONS", grantable=False) == "NO_PERMISSIONS"
