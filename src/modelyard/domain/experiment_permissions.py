"""THE rule for MLflow tracking data: who may read, edit or manage an experiment. Pure.

Experiments hold tracking data (runs, params, metrics, tags, inputs, logged models and the run
artifacts behind them). They are not registries, so they have their own permissions, the ones
MLflow's basic-auth app uses, lowest to highest:

===============  ====  ==========================================  =================================
permission       read  edit (log, tag, rename, upload artifacts)   manage (delete, restore, grant)
===============  ====  ==========================================  =================================
NO_PERMISSIONS   no    no                                          no
READ             yes   no                                          no
EDIT             yes   yes                                         no
MANAGE           yes   yes                                         yes
===============  ====  ==========================================  =================================

A principal's effective permission on an experiment is the highest of: ``MANAGE`` if it is
an org admin; what it was granted directly or through any of its teams (the creator of an
experiment is granted ``MANAGE``); and the server-wide default for everyone else
(``MODELYARD_MLFLOW__DEFAULT_EXPERIMENT_PERMISSION``). Callers turn "cannot read" into 404,
as for restricted registries, so an experiment's existence does not leak.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from modelyard.errors import InvalidArgumentError

from .permissions import Principal

PERMISSIONS = ("NO_PERMISSIONS", "READ", "EDIT", "MANAGE")
GRANTABLE = ("READ", "EDIT", "MANAGE")
_RANK = {p: i for i, p in enumerate(PERMISSIONS)}


class ExperimentAction(StrEnum):
    READ = "read"
    EDIT = "edit"
    MANAGE = "manage"


MIN_PERMISSION: dict[ExperimentAction, str] = {
    ExperimentAction.READ: "READ",
    ExperimentAction.EDIT: "EDIT",
    ExperimentAction.MANAGE: "MANAGE",
}


def check_permission(permission: object, *, grantable: bool = True) -> str:
    """``permission`` if it names a known permission (only READ/EDIT/MANAGE can be granted)."""
    allowed = GRANTABLE if grantable else PERMISSIONS
    if not isinstance(permission, str) or permission not in allowed:
        raise InvalidArgumentError(
            f"unknown experiment permission '{str(permission)[:40]}': use one of {', '.join(allowed)}",
            field="permission",
        )
    return permission


@dataclass(frozen=True, slots=True)
class ExperimentResource:
    """What the rule needs about one experiment: the permissions granted to the principal
    (directly and through its teams) and the server-wide default."""

    granted: tuple[str, ...] = ()
    default: str = "NO_PERMISSIONS"


def effective_permission(principal: Principal, resource: ExperimentResource) -> str:
    if principal.org_admin:
        return "MANAGE"
    held = [p for p in (*resource.granted, resource.default) if p in _RANK]
    return max(held, key=_RANK.__getitem__) if held else "NO_PERMISSIONS"


def can_on_experiment(principal: Principal, action: ExperimentAction, resource: ExperimentResource) -> bool:
    """Whether ``principal`` may do ``action`` on the experiment described by ``resource``."""
    return _RANK[effective_permission(principal, resource)] >= _RANK[MIN_PERMISSION[action]]
