"""Promotion requirements on a protected alias (or a legacy stage), and their evaluation. Pure.

A policy's ``requirements`` (stored on the alias policy) look like::

    {
      "approvals": 2,                      # distinct approvers needed
      "approver_role": "admin",            # least registry role an approver must hold
      "checks": ["integration-tests"],     # named checks that must report success on the version
      "rules": [                           # conditions on the version's metadata
        {"field": "metrics.auc", "op": ">=", "value": 0.91},
        {"field": "signature", "op": "exists"},
        {"field": "tags.validated", "op": "==", "value": "true"}
      ],
      "auto_promote": true,                # move as soon as everything is met (else the requester completes)
      "guards_stage": true                 # alias policies only: also guard the stage that maps to the alias
    }

The version's author and the request's requester can never approve it.

A guard on an alias also guards the legacy stage that maps to it (``production`` guards
``Production``, ``staging`` guards ``Staging``; see ``STAGE_ALIASES``), so an MLflow client cannot
bypass the alias's approvals by transitioning the stage. A policy of the stage's own wins; an alias
policy with ``"guards_stage": false`` leaves the stage alone (the admin separated them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from modelyard.errors import InvalidArgumentError

from .identity import AliasPolicy
from .models import Version
from .names import validate_check_name
from .permissions import ROLES, check_role

CHECK_STATUSES = ("pending", "success", "failure", "error")
RULE_OPS = (">=", ">", "<=", "<", "==", "!=", "exists")
_FIELD_RE = re.compile(r"^(?:(metrics|params|tags)\.[A-Za-z0-9_.:/ -]{1,250}|signature|framework|flavor|run\.id)\Z")
STAGE_POLICY_PREFIX = "stage:"
# The stage <-> alias mapping: one home. A guard on the alias also guards its stage.
STAGE_ALIASES = {"Production": "production", "Staging": "staging"}


def alias_for_stage(stage: str) -> str | None:
    """The alias whose guard also guards ``stage`` (a canonical stage name), if any."""
    return STAGE_ALIASES.get(stage)


def stage_guard(stage_policy: AliasPolicy | None, alias_policy: AliasPolicy | None) -> AliasPolicy | None:
    """The policy that guards a stage: its own if it has one, else its alias's unless that
    policy says ``"guards_stage": false``."""
    if stage_policy is not None:
        return stage_policy
    if alias_policy is None or not alias_policy.protected:
        return None
    return alias_policy if Requirements.parse(alias_policy.requirements).guards_stage else None


@dataclass(frozen=True, slots=True)
class Rule:
    field: str
    op: str
    value: Any = None

    def describe(self) -> str:
        return f"{self.field} {self.op}" + ("" if self.op == "exists" else f" {self.value!r}")


@dataclass(frozen=True, slots=True)
class Requirements:
    approvals: int = 0
    approver_role: str = "member"
    checks: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()
    auto_promote: bool = True
    guards_stage: bool = True

    @property
    def empty(self) -> bool:
        return self.approvals == 0 and not self.checks and not self.rules

    @classmethod
    def parse(cls, data: dict[str, Any] | None) -> Requirements:
        """Validate a requirements object; raises ``InvalidArgumentError`` saying what to fix."""
        data = dict(data or {})
        unknown = set(data) - {"approvals", "approver_role", "checks", "rules", "auto_promote", "guards_stage"}
        if unknown:
            raise InvalidArgumentError(f"unknown requirement keys: {', '.join(sorted(unknown))}", field="requirements")
        approvals = data.get("approvals", 0)
        if isinstance(approvals, bool) or not isinstance(approvals, int) or not 0 <= approvals <= 20:
            raise InvalidArgumentError("approvals must be an integer from 0 to 20", field="approvals")
        role = check_role(data.get("approver_role", "member"))
        if role == "restricted_viewer":
            raise InvalidArgumentError(f"approver_role must be one of {', '.join(ROLES[1:])}", field="approver_role")
        checks = data.get("checks", [])
        if not isinstance(checks, list):
            raise InvalidArgumentError("checks must be a list of check names", field="checks")
        rules_in = data.get("rules", [])
        if not isinstance(rules_in, list):
            raise InvalidArgumentError("rules must be a list of {field, op, value}", field="rules")
        rules = []
        for r in rules_in:
            if not isinstance(r, dict) or set(r) - {"field", "op", "value"}:
                raise InvalidArgumentError("each rule is {field, op, value}", field="rules")
            fld, op = r.get("field"), r.get("op")
            if not isinstance(fld, str) or not _FIELD_RE.match(fld):
                raise InvalidArgumentError(
                    f"rule field '{str(fld)[:80]}' must be metrics.<name>, params.<name>, tags.<key>, signature, "
                    "framework, flavor or run.id",
                    field="rules",
                )
            if op not in RULE_OPS:
                raise InvalidArgumentError(f"rule op must be one of {', '.join(RULE_OPS)}", field="rules")
            if op != "exists" and "value" not in r:
                raise InvalidArgumentError(f"rule '{fld} {op}' needs a value", field="rules")
            if op in (">=", ">", "<=", "<") and (
                isinstance(r["value"], bool) or not isinstance(r["value"], (int, float))
            ):
                raise InvalidArgumentError(f"rule '{fld} {op}' needs a numeric value", field="rules")
            rules.append(Rule(fld, op, r.get("value")))
        auto = data.get("auto_promote", True)
        if not isinstance(auto, bool):
            raise InvalidArgumentError("auto_promote must be true or false", field="auto_promote")
        guards_stage = data.get("guards_stage", True)
        if not isinstance(guards_stage, bool):
            raise InvalidArgumentError("guards_stage must be true or false", field="guards_stage")
        return cls(approvals, role, tuple(validate_check_name(c) for c in checks), tuple(rules), auto, guards_stage)

    def to_dict(self) -> dict[str, Any]:
        return {
            "approvals": self.approvals,
            "approver_role": self.approver_role,
            "checks": list(self.checks),
            "rules": [
                {"field": r.field, "op": r.op, **({} if r.op == "exists" else {"value": r.value})} for r in self.rules
            ],
            "auto_promote": self.auto_promote,
            **({} if self.guards_stage else {"guards_stage": False}),
        }


@dataclass(frozen=True, slots=True)
class RequirementStatus:
    kind: str  # approvals | check | rule
    name: str
    met: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Evaluation:
    statuses: list[RequirementStatus] = field(default_factory=list)

    @property
    def met(self) -> bool:
        return all(s.met for s in self.statuses)

    @property
    def unmet(self) -> list[RequirementStatus]:
        return [s for s in self.statuses if not s.met]


def _field_value(version: Version, name: str) -> tuple[bool, Any]:
    md = version.metadata
    if name == "signature":
        return md.signature is not None, md.signature
    if name in ("framework", "flavor"):
        value = getattr(md, name)
        return bool(value), value
    if name == "run.id":
        return bool(md.run.id), md.run.id
    group, _, key = name.partition(".")
    source: dict[str, Any] = {"metrics": md.metrics, "params": md.params, "tags": md.tags}[group]
    return key in source, source.get(key)


def _compare(op: str, actual: Any, expected: Any) -> bool:
    if op == "==":
        return bool(actual == expected or str(actual) == str(expected))
    if op == "!=":
        return not (actual == expected or str(actual) == str(expected))
    try:
        a = float(actual)
    except (TypeError, ValueError):
        return False
    return {">=": a >= expected, ">": a > expected, "<=": a <= expected, "<": a < expected}[op]


def evaluate(req: Requirements, version: Version, checks: dict[str, str], approvers: list[str]) -> Evaluation:
    """What is met and what is not, for ``version`` given its check results and valid approvers."""
    out = []
    if req.approvals:
        n = len(set(approvers))
        out.append(
            RequirementStatus(
                "approvals",
                "approvals",
                n >= req.approvals,
                f"{n} of {req.approvals} approvals (role {req.approver_role} or higher)",
            )
        )
    for name in req.checks:
        status = checks.get(name)
        out.append(
            RequirementStatus("check", name, status == "success", f"check '{name}' is {status or 'not reported'}")
        )
    for rule in req.rules:
        present, actual = _field_value(version, rule.field)
        ok = present if rule.op == "exists" else present and _compare(rule.op, actual, rule.value)
        shown = "missing" if not present else repr(actual)
        out.append(RequirementStatus("rule", rule.describe(), ok, f"{rule.describe()} (actual: {shown})"))
    return Evaluation(out)
