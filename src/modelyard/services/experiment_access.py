"""Applies the experiment rule (``domain.experiment_permissions``) inside a tracking unit of work.

One door for the tracking service and the MLflow artifact proxy: loads what the rule needs
(the permissions granted to the actor and its teams, the server-wide default), and turns a
refusal into the right error. An experiment the actor may not read does not exist for them
(404 with exactly the message of a missing one, as restricted registries do); anything else
denied is a 403 naming the permission needed.

Run artifacts belong to the experiment whose artifact location holds their path (runs write
under ``<location>/<run_id>/artifacts``, logged models under ``<location>/models/<id>/artifacts``),
so the proxy authorizes a path by its owning experiment. ``actor=None`` is a trusted internal
caller. Imports ``storage.interfaces`` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from modelyard.domain.actor import Actor
from modelyard.domain.experiment_permissions import (
    MIN_PERMISSION,
    ExperimentAction,
    ExperimentResource,
    can_on_experiment,
    check_permission,
)
from modelyard.errors import ExperimentNotFoundError, NotFoundError, PermissionDeniedError
from modelyard.storage.interfaces import TrackingStore

ARTIFACT_SCHEME = "mlflow-artifacts:"


def missing_experiment(experiment_id: object) -> ExperimentNotFoundError:
    """The error for an experiment that does not exist, or that the caller may not read."""
    text = str(experiment_id)[:40]
    return ExperimentNotFoundError(f"No Experiment with id={text} exists", experiment_id=text)


_VERBS = {ExperimentAction.EDIT: "change", ExperimentAction.MANAGE: "delete, restore or grant access to"}


class ExperimentAccess:
    """The experiment permission check, with the configured default for everyone else."""

    def __init__(self, default: str = "NO_PERMISSIONS") -> None:
        self.default = check_permission(default, grantable=False)

    @staticmethod
    def trusted(actor: Actor | None) -> bool:
        return actor is None or actor.org_admin

    def _resource(self, store: TrackingStore, actor: Actor, experiment_id: int) -> ExperimentResource:
        held = (
            store.experiment_permissions_held(actor.id, actor.team_ids, [experiment_id]) if actor.id is not None else {}
        )
        return ExperimentResource(tuple(held.get(experiment_id, ())), self.default)

    def allows(self, store: TrackingStore, actor: Actor | None, experiment_id: int, action: ExperimentAction) -> bool:
        if actor is None or actor.org_admin:
            return True
        return can_on_experiment(actor.principal, action, self._resource(store, actor, experiment_id))

    def require(
        self,
        store: TrackingStore,
        actor: Actor | None,
        experiment_id: int,
        action: ExperimentAction,
        *,
        hidden: NotFoundError | None = None,
    ) -> None:
        """Raise unless ``actor`` may do ``action``: ``hidden`` (default: experiment not found) if it
        may not even read the experiment, else 403."""
        if actor is None or actor.org_admin:
            return
        resource = self._resource(store, actor, experiment_id)
        if not can_on_experiment(actor.principal, ExperimentAction.READ, resource):
            raise hidden or missing_experiment(experiment_id)
        if not can_on_experiment(actor.principal, action, resource):
            needed = MIN_PERMISSION[action]
            raise PermissionDeniedError(
                f"you need the '{needed}' permission on experiment {experiment_id} to "
                f"{_VERBS.get(action, action.value)} it",
                experiment_id=str(experiment_id),
                action=action.value,
                required_permission=needed,
            )

    def readable_ids(self, store: TrackingStore, actor: Actor | None) -> list[int] | None:
        """Ids of the experiments ``actor`` may read; None means all of them."""
        if actor is None or actor.org_admin:
            return None
        if can_on_experiment(actor.principal, ExperimentAction.READ, ExperimentResource((), self.default)):
            return None
        held = store.experiment_permissions_held(actor.id, actor.team_ids) if actor.id is not None else {}
        principal = actor.principal
        return sorted(
            eid
            for eid, granted in held.items()
            if can_on_experiment(principal, ExperimentAction.READ, ExperimentResource(tuple(granted), self.default))
        )

    @staticmethod
    def owner_of_path(store: TrackingStore, path: str) -> dict[str, Any] | None:
        """The experiment whose artifact location holds ``path`` (the longest match), if any."""
        segments = [s for s in path.split("/") if s]
        prefixes = ["/".join(segments[: i + 1]) for i in range(len(segments))]
        candidates = [f"{ARTIFACT_SCHEME}/{p}" for p in prefixes] + [f"{ARTIFACT_SCHEME}{p}" for p in prefixes]
        rows = store.experiments_at_locations(candidates)
        if not rows:
            return None
        return max(rows, key=lambda r: len(str(r["artifact_location"]).removeprefix(ARTIFACT_SCHEME).strip("/")))


def location_path(location: str) -> str:
    """The proxy path of an ``mlflow-artifacts:`` location (``mlflow-artifacts://host/p`` -> ``p``)."""
    rest = location.removeprefix(ARTIFACT_SCHEME)
    if rest.startswith("//"):
        rest = rest[2:].partition("/")[2]
    return rest.strip("/")


def overlaps(path: str, others: Sequence[str]) -> bool:
    """Whether proxy path ``path`` contains, or lies inside, any of ``others``."""
    for other in others:
        if not other:
            return True
        if path == other or path.startswith(other + "/") or other.startswith(path + "/"):
            return True
    return False
