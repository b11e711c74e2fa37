"""The UI's pages: each view parses its input, calls one service (a page may read several),
and renders a template. Permission rules stay in the services: a restricted registry that
the signed-in principal may not read raises the same ``NotFoundError`` as a missing one.

Who is acting: with auth off, the local admin (as in ``/api/v1``); with auth on, the
principal of the API token kept in the signed session cookie (``session.py``), re-checked
on every request. Every POST carries the session's CSRF value, checked before anything else.
Errors from the hierarchy become HTML pages through ``error_page`` (called by
``api/errors.py``, which holds the one status table).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from modelyard.bootstrap import Services
from modelyard.domain.actor import Actor, local_actor
from modelyard.domain.paths import ArtifactPath
from modelyard.domain.permissions import ROLES
from modelyard.domain.search import parse_tag_filter
from modelyard.errors import (
    CsrfError,
    InvalidArgumentError,
    ModelyardError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
)

from . import markdown, session

HERE = Path(__file__).parent
VERSIONS_PAGE = 50
COLLECTIONS_PAGE = 50

_env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"], default_for_string=True, default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _size(n: int | None) -> str:
    if n is None:
        return ""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else ""


_env.filters["size"] = _size
_env.filters["when"] = _when
_env.filters["markdown"] = markdown.render
_env.filters["q"] = lambda s: quote(str(s), safe="")
_env.filters["qp"] = lambda s: quote(str(s), safe="/")


@dataclass
class Ui:
    """One request's view of the UI: services, session and actor (None: signed out)."""

    request: Request
    svc: Services
    session: session.Session
    actor: Actor | None
    fresh: bool  # the session cookie must be (re)set on the response

    @property
    def auth_enabled(self) -> bool:
        return bool(self.request.app.state.auth_enabled())

    def require_actor(self) -> Actor:
        if self.actor is None:
            raise UnauthenticatedError("sign in with an API token to see this page")
        return self.actor


def _key(request: Request) -> bytes:
    return request.app.state.ui_session_key  # type: ignore[no-any-return]


def ui(request: Request) -> Ui:
    """The request's ``Ui``; marks the request as a UI request so errors render as HTML."""
    request.state.ui = True
    svc: Services = request.app.state.services
    found = session.load(_key(request), request.cookies.get(session.COOKIE))
    sess = found or session.new_session()
    client = request.client.host if request.client else ""
    rid = getattr(request.state, "request_id", "")
    who: Actor | None = None
    if not request.app.state.auth_enabled():
        who = local_actor(request_id=rid, client_address=client)
    elif sess.token:
        try:
            who = svc.identity.authenticate(sess.token, request_id=rid, client_address=client)
        except UnauthenticatedError:
            sess, found = session.new_session(), None  # revoked or expired: signed out from now on
    return Ui(request, svc, sess, who, fresh=found is None)


def session_token_for(state: Any, cookie_header: str | None) -> str | None:
    """The API token in a request's UI session cookie (``Cookie`` header), or None. The API
    decides when it may stand for the ``Authorization`` header (``api.deps.session_token``)."""
    if not cookie_header:
        return None
    jar = SimpleCookie()
    try:
        jar.load(cookie_header)
    except CookieError:
        return None
    morsel = jar.get(session.COOKIE)
    sess = session.load(state.ui_session_key, morsel.value if morsel else None)
    return sess.token if sess and sess.token else None


def _set_cookie(request: Request, response: Response, sess: session.Session) -> None:
    response.set_cookie(
        session.COOKIE,
        session.dump(_key(request), sess),
        max_age=session.MAX_AGE_SECONDS,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def render(u: Ui, template: str, status: int = 200, **data: Any) -> HTMLResponse:
    html = _env.get_template(template).render(
        actor=u.actor,
        auth_enabled=u.auth_enabled,
        csrf=u.session.csrf,
        path=u.request.url.path,
        **data,
    )
    response = HTMLResponse(html, status_code=status)
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if u.fresh:
        _set_cookie(u.request, response, u.session)
    return response


def error_page(request: Request, status: int, message: str) -> Response:
    """The HTML page for an error (``api/errors.py`` decides the status). 401 sends the
    browser to the sign-in form and back."""
    u = ui(request)
    if status == 401:
        target = _safe_next(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        response: Response = RedirectResponse(f"/signin?next={quote(target, safe='')}", status_code=303)
        if u.fresh:
            _set_cookie(request, response, u.session)
        return response
    rejected: Rejected | None = getattr(request.state, "ui_rejected", None)
    if rejected is not None and status in (400, 403, 409):
        try:
            return rejected.page(u, status, FormError(rejected.form, rejected.values, rejected.field, message))
        except ModelyardError:
            pass  # the page itself cannot be shown any more: the plain error page below
    titles = {400: "Check your input", 403: "Not allowed", 404: "Not found", 409: "Conflict"}
    return render(
        u,
        "error.html",
        status=status,
        code=status,
        title=titles.get(status, "Something went wrong"),
        message=message,
        request_id=getattr(request.state, "request_id", ""),
    )


def _safe_next(target: str | None) -> str:
    """A same-site path to return to after signing in (never another host)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    # Browsers read "/\\host" as "//host": refuse backslashes and control characters outright.
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return "/"
    return target


def _check_csrf(u: Ui, submitted: str | None) -> None:
    if not session.csrf_ok(u.session if not u.fresh else None, submitted):
        raise CsrfError("this form has expired or did not come from this site; reload the page and submit it again")


@dataclass(frozen=True)
class FormError:
    """A rejected form as the page shows it again: which form, the submitted values, the field the
    error names (None: the form as a whole) and the message saying what to fix."""

    form: str
    values: dict[str, str]
    field: str | None
    message: str

    def value(self, form: str, name: str, default: Any = "") -> Any:
        return self.values.get(name, "") if form == self.form else default

    def on(self, form: str, field: str | None) -> str | None:
        """The message, if it belongs next to ``field`` of ``form`` (``None``: anywhere in it)."""
        return self.message if form == self.form and (field is None or self.field == field) else None


@dataclass(frozen=True)
class Rejected:
    form: str
    values: dict[str, str]
    field: str | None
    page: Callable[[Ui, int, FormError], Response]


@contextmanager
def rejected_shows(
    u: Ui,
    form: str,
    values: dict[str, str],
    page: Callable[[Ui, int, FormError], Response],
    fields: dict[str, str] | None = None,
) -> Iterator[None]:
    """An error raised inside re-displays ``page`` with the submitted values and the message next to
    its field; the status still comes from the error table (``error_page`` is handed it)."""
    try:
        yield
    except ModelyardError as exc:
        shown = {k: v for k, v in values.items() if k != "csrf_token"}
        field = exc.details.get("field")
        field = (fields or {}).get(field, field) if isinstance(field, str) else None
        u.request.state.ui_rejected = Rejected(form, shown, field, page)
        raise


def error_of(error: FormError) -> InvalidArgumentError:
    """A form error that has no page to show it on: the plain error page instead."""
    return InvalidArgumentError(error.message, field=error.field)


MAX_FORM_BYTES = 64 * 1024


async def form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body as a dict (first value of each field)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise InvalidArgumentError(f"the form is larger than {MAX_FORM_BYTES} bytes", field="form")
    try:
        fields = parse_qs(body.decode(), keep_blank_values=True, max_num_fields=100)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidArgumentError("the form is not valid url-encoded UTF-8", field="form") from exc
    return {k: v[0] for k, v in fields.items()}


def _int_field(f: dict[str, str], name: str) -> int:
    value = f.get(name, "")
    if not value.isascii() or not value.isdigit():
        raise InvalidArgumentError(f"'{name}' must be a whole number", field=name)
    return int(value)


router = APIRouter(include_in_schema=False)


# -- sign in / out ------------------------------------------------------------------------------------


@router.get("/signin")
def signin_form(next: str = Query("/"), u: Ui = Depends(ui)) -> Response:
    if u.actor is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(u, "signin.html", next=_safe_next(next), error=None)


@router.post("/signin")
def signin(f: dict[str, str] = Depends(form), u: Ui = Depends(ui)) -> Response:
    _check_csrf(u, f.get("csrf_token"))
    token, next = f.get("token", ""), f.get("next", "/")
    rid = getattr(u.request.state, "request_id", "")
    try:
        u.svc.identity.authenticate(token.strip(), request_id=rid)
    except UnauthenticatedError as exc:
        return render(u, "signin.html", status=401, next=_safe_next(next), error=exc.message)
    response = RedirectResponse(_safe_next(next), status_code=303)
    _set_cookie(u.request, response, session.new_session(token.strip()))
    return response


@router.post("/signout")
def signout(f: dict[str, str] = Depends(form), u: Ui = Depends(ui)) -> Response:
    _check_csrf(u, f.get("csrf_token"))
    response = RedirectResponse("/signin" if u.auth_enabled else "/", status_code=303)
    _set_cookie(u.request, response, session.new_session())
    return response


# -- pages --------------------------------------------------------------------------------------------


@router.get("/")
def home(u: Ui = Depends(ui)) -> Response:
    who = u.require_actor()
    registries = u.svc.registry.list_registries(actor=who)
    activity = u.svc.audit.list_events(who, descending=True, page_size=10).items
    waiting = u.svc.promotion.waiting_for(who, limit=20)
    return render(u, "home.html", registries=registries, activity=activity, waiting=waiting)


@router.get("/search")
def search(
    q: str = Query("", max_length=200),
    page_token: str | None = Query(None),
    u: Ui = Depends(ui),
) -> Response:
    who = u.require_actor()
    name, tags, alias = parse_search(q)
    page = u.svc.registry.search_collections(
        name=name, tags=tags, alias=alias, page_size=COLLECTIONS_PAGE, page_token=page_token, actor=who
    )
    return render(u, "search.html", q=q, page=page)


def parse_search(q: str) -> tuple[str | None, list[tuple[str, str | None]], str | None]:
    """The search box: ``tag:key`` / ``tag:key=value`` and ``alias:name`` words filter, the rest
    is the name to match (the same filters as ``GET /api/v1/search``)."""
    words, tags, alias = [], [], None
    for word in q.split():
        kind, sep, rest = word.partition(":")
        if sep and kind == "tag":
            tags.append(parse_tag_filter(rest))
        elif sep and kind == "alias" and rest:
            alias = rest
        else:
            words.append(word)
    return " ".join(words) or None, tags, alias


@router.get("/registries/{registry}")
def registry_page(
    registry: str,
    q: str = Query("", max_length=200),
    page_token: str | None = Query(None),
    u: Ui = Depends(ui),
) -> Response:
    return _registry_view(u, registry, q=q, page_token=page_token)


def _registry_view(
    u: Ui,
    registry: str,
    *,
    q: str = "",
    page_token: str | None = None,
    status: int = 200,
    error: FormError | None = None,
) -> Response:
    who = u.require_actor()
    reg = u.svc.registry.get_registry(registry, actor=who)
    name, tags, alias = parse_search(q)
    page = u.svc.registry.search_collections(
        registries=[registry],
        name=name,
        tags=tags,
        alias=alias,
        page_size=COLLECTIONS_PAGE,
        page_token=page_token,
        actor=who,
    )
    try:
        grants = u.svc.identity.list_grants(who, registry)
        policies = u.svc.identity.list_alias_policies(who, registry)
    except PermissionDeniedError:
        grants, policies = None, None
    return render(
        u,
        "registry.html",
        status=status,
        registry=reg,
        page=page,
        q=q,
        grants=grants,
        policies=policies,
        roles=ROLES,
        approver_roles=ROLES[1:],
        policy_rows=[(f"policy-{i}", policy_values(p)) for i, p in enumerate(policies or [], start=1)],
        new_policy=NEW_POLICY,
        form_error=error or FormError("", {}, None, ""),
    )


NEW_POLICY = {
    "protected": "on",
    "approvals": "0",
    "approver_role": "member",
    "auto_promote": "on",
    "guards_stage": "on",
}


def policy_values(p: Any) -> dict[str, str]:
    """An alias policy as the policy form's field values (its rules ride along unchanged)."""
    req = p.requirements or {}
    on = lambda flag: "on" if flag else ""  # noqa: E731
    return {
        "alias": p.alias,
        "collection": p.collection or "",
        "protected": on(p.protected),
        "approvals": str(req.get("approvals", 0)),
        "approver_role": str(req.get("approver_role", "member")),
        "checks": ", ".join(req.get("checks", [])),
        "auto_promote": on(req.get("auto_promote", True)),
        "guards_stage": on(req.get("guards_stage", True)),
        "rules": json.dumps(req.get("rules", [])) if req.get("rules") else "",
    }


def _checked(f: dict[str, str], name: str) -> bool:
    return f.get(name, "") in ("on", "true", "1", "yes")


def policy_requirements(f: dict[str, str]) -> dict[str, Any]:
    """The policy form's requirements as the API's ``requirements`` object (the domain validates it)."""
    approvals = f.get("approvals", "").strip() or "0"
    if not approvals.isascii() or not approvals.isdigit():
        raise InvalidArgumentError("approvals must be a whole number from 0 to 20", field="approvals")
    rules: Any = []
    if f.get("rules", "").strip():
        try:
            rules = json.loads(f["rules"])
        except ValueError as exc:
            raise InvalidArgumentError("rules must be a JSON list of {field, op, value}", field="rules") from exc
    return {
        "rules": rules,
        "approvals": int(approvals),
        "approver_role": f.get("approver_role", "member"),
        "checks": [c.strip() for c in f.get("checks", "").split(",") if c.strip()],
        "auto_promote": _checked(f, "auto_promote"),
        "guards_stage": _checked(f, "guards_stage"),
    }


@router.post("/registries/{registry}/settings")
def registry_settings(registry: str, f: dict[str, str] = Depends(form), u: Ui = Depends(ui)) -> Response:
    """Registry admins' changes: visibility, accepted types, a member's role, removing a member, and
    protected aliases with their promotion policies (the services decide who may). A rejected
    change shows the settings again with the submitted values and the message next to the field."""
    _check_csrf(u, f.get("csrf_token"))
    who = u.require_actor()
    change = f.get("change", "")
    collection = f.get("collection", "").strip() or None

    def again(u: Ui, status: int, error: FormError) -> Response:
        return _registry_view(u, registry, status=status, error=error)

    # The services name a few fields as the API does; the form's names for them:
    names = {"check": "checks", "target": "alias", "name": "alias", "artifact_type": "artifact_types"}
    with rejected_shows(u, f.get("form_id") or change, f, again, names):
        if change == "visibility":
            u.svc.registry.update_registry(who, registry, visibility=f.get("visibility", ""))
        elif change == "types":
            types = [t.strip() for t in f.get("artifact_types", "").split(",") if t.strip()]
            u.svc.registry.update_registry(who, registry, artifact_types=types)
        elif change == "grant":
            u.svc.identity.grant(
                who,
                registry,
                subject_kind=f.get("subject_kind", "user"),
                subject=f.get("subject", "").strip(),
                role=f.get("role", ""),
            )
        elif change == "revoke":
            u.svc.identity.revoke_grant(
                who, registry, subject_kind=f.get("subject_kind", "user"), subject=f.get("subject", "").strip()
            )
        elif change == "policy":
            alias = f.get("alias", "").strip()
            if _checked(f, "protected"):
                u.svc.promotion.set_policy(
                    who,
                    registry,
                    target_kind="alias",
                    target=alias,
                    requirements=policy_requirements(f),
                    collection=collection,
                )
            else:  # kept as an explicit "not protected" (a collection's exception to a registry-wide rule)
                u.svc.identity.set_alias_policy(who, registry, alias, collection=collection, protected=False)
        elif change == "policy-delete":
            u.svc.identity.delete_alias_policy(who, registry, f.get("alias", "").strip(), collection=collection)
        else:
            raise InvalidArgumentError(
                "change must be 'visibility', 'types', 'grant', 'revoke', 'policy' or 'policy-delete'", field="change"
            )
    return RedirectResponse(f"/registries/{quote(registry)}#h-settings", status_code=303)


@router.get("/registries/{registry}/collections/{collection}")
def collection_page(
    registry: str,
    collection: str,
    order: str = Query("newest", pattern="^(newest|oldest)$"),
    sort: str = Query("number", pattern="^(number|created|stage|aliases)$"),
    page_token: str | None = Query(None),
    u: Ui = Depends(ui),
) -> Response:
    return _collection_view(u, registry, collection, order=order, sort=sort, page_token=page_token)


def _collection_view(
    u: Ui,
    registry: str,
    collection: str,
    *,
    order: str = "newest",
    sort: str = "number",
    page_token: str | None = None,
    status: int = 200,
    error: FormError | None = None,
) -> Response:
    who = u.require_actor()
    col = u.svc.registry.get_collection(registry, collection, actor=who)
    versions = u.svc.registry.list_versions(
        registry,
        collection,
        page_size=VERSIONS_PAGE,
        page_token=page_token,
        descending=order == "newest",
        sort=sort,
        actor=who,
    )
    history = {a: u.svc.registry.alias_history(registry, collection, a, limit=5, actor=who) for a in col.aliases}
    try:
        webhooks = [w for w in u.svc.automations.list_webhooks(who, registry)]
    except PermissionDeniedError:
        webhooks = None
    promotions = u.svc.promotion.list(who, registry, collection, status="open", limit=20)
    return render(
        u,
        "collection.html",
        collection=col,
        versions=versions,
        history=history,
        webhooks=webhooks,
        promotions=promotions,
        order=order,
        sort=sort,
        status=status,
        form_error=error or FormError("", {}, None, ""),
    )


@router.post("/registries/{registry}/collections/{collection}/tags")
def collection_tags(
    registry: str,
    collection: str,
    f: dict[str, str] = Depends(form),
    u: Ui = Depends(ui),
) -> Response:
    """Set or remove a collection tag (members: the service decides who may)."""
    _check_csrf(u, f.get("csrf_token"))
    who = u.require_actor()
    change, key = f.get("change", ""), f.get("key", "").strip()

    def again(u: Ui, status: int, error: FormError) -> Response:
        return _collection_view(u, registry, collection, status=status, error=error)

    with rejected_shows(u, "tag-" + change, f, again, {"tag_key": "key", "tag_value": "value", "tags": "key"}):
        if change == "set":
            u.svc.registry.set_collection_tag(who, registry, collection, key, f.get("value", ""))
        elif change == "unset":
            u.svc.registry.unset_collection_tag(who, registry, collection, key)
        else:
            raise InvalidArgumentError("change must be 'set' or 'unset'", field="change")
    return RedirectResponse(f"/registries/{quote(registry)}/collections/{quote(collection)}#h-tags", status_code=303)


@router.get("/registries/{registry}/collections/{collection}/versions/{number}")
def version_page(registry: str, collection: str, number: int, u: Ui = Depends(ui)) -> Response:
    return _version_view(u, registry, collection, number)


def _version_view(
    u: Ui, registry: str, collection: str, number: int, *, status: int = 200, error: FormError | None = None
) -> Response:
    who = u.require_actor()
    v = u.svc.registry.get_version(registry, collection, number, actor=who)
    checks = u.svc.promotion.list_checks(who, registry, collection, number)
    events = u.svc.audit.list_events(who, target=v.path, descending=True, page_size=50).items
    promotions = [p for p in u.svc.promotion.list(who, registry, collection, limit=50) if p.version == number]
    return render(
        u,
        "version.html",
        status=status,
        version=v,
        checks=checks,
        events=events,
        promotions=promotions,
        form_error=error or FormError("", {}, None, ""),
    )


@router.get("/compare")
def compare(v: list[str] = Query([]), u: Ui = Depends(ui)) -> Response:
    who = u.require_actor()
    if not 2 <= len(v) <= 6:
        raise InvalidArgumentError("choose between 2 and 6 versions to compare", field="v")
    versions = []
    for ref in v:
        p = ArtifactPath.parse(ref)
        if p.ref is None:
            raise InvalidArgumentError(f"'{ref}' names no version: write registry/collection:3", field="v")
        versions.append(u.svc.registry.get_version(p.registry, p.collection, p.ref, actor=who))
    return render(u, "compare.html", versions=versions, rows=compare_rows(versions), charts=metric_bars(versions))


def metric_bars(versions: list[Any]) -> list[tuple[str, list[tuple[str, float, int]]]]:
    """Per metric: (label, value, bar width in % of the largest magnitude) for each version."""
    charts = []
    for key in sorted({k for v in versions for k in v.metadata.metrics}):
        values = [(f"{v.collection}:{v.number}", v.metadata.metrics.get(key)) for v in versions]
        top = max((abs(x) for _, x in values if x is not None), default=0.0) or 1.0
        charts.append((key, [(label, x, round(abs(x) / top * 100)) for label, x in values if x is not None]))
    return charts


def compare_rows(versions: list[Any]) -> list[tuple[str, str, list[str], bool]]:
    """(section, key, one value per version, differs) for metadata, params, metrics and files."""
    rows: list[tuple[str, str, list[str], bool]] = []

    def add(section: str, getter: Any, keys: list[str]) -> None:
        for key in keys:
            values = [getter(v, key) for v in versions]
            rows.append((section, key, values, len(set(values)) > 1))

    rows.extend(
        ("metadata", k, vals, len(set(vals)) > 1)
        for k, vals in (
            ("created by", [v.created_by for v in versions]),
            ("created at", [_when(v.created_at) for v in versions]),
            ("framework", [v.metadata.framework for v in versions]),
            ("run", [v.metadata.run.id for v in versions]),
            ("size", [_size(v.size) for v in versions]),
            ("manifest digest", [v.digest for v in versions]),
        )
    )
    add(
        "params",
        lambda v, k: str(v.metadata.params.get(k, "")),
        sorted({k for v in versions for k in v.metadata.params}),
    )
    add(
        "metrics",
        lambda v, k: str(v.metadata.metrics.get(k, "")),
        sorted({k for v in versions for k in v.metadata.metrics}),
    )
    files = [{f.path: f.digest for f in v.files} for v in versions]
    add("files", lambda v, k: files[versions.index(v)].get(k, "—")[:19], sorted({k for f in files for k in f}))
    return rows


@router.post("/registries/{registry}/collections/{collection}/promotions")
def request_promotion(
    registry: str,
    collection: str,
    f: dict[str, str] = Depends(form),
    u: Ui = Depends(ui),
) -> Response:
    _check_csrf(u, f.get("csrf_token"))
    who = u.require_actor()
    shown = f.get("version", "")
    number = int(shown) if shown.isascii() and shown.isdigit() else None

    def again(u: Ui, status: int, error: FormError) -> Response:
        if number is None:
            raise error_of(error)
        return _version_view(u, registry, collection, number, status=status, error=error)

    with rejected_shows(u, "promote", f, again, {"target": "alias", "name": "alias"}):
        version = _int_field(f, "version")
        alias, comment = f.get("alias", "").strip(), f.get("comment", "")
        u.svc.promotion.request(who, registry, collection, version, target_kind="alias", target=alias, comment=comment)
    return RedirectResponse(f"/registries/{quote(registry)}/collections/{quote(collection)}", status_code=303)


@router.post("/promotions/{request_id}/review")
def review_promotion(
    request_id: int,
    f: dict[str, str] = Depends(form),
    u: Ui = Depends(ui),
) -> Response:
    _check_csrf(u, f.get("csrf_token"))
    who = u.require_actor()
    decision, comment = f.get("decision", ""), f.get("comment", "")
    if decision not in ("approve", "reject"):
        raise InvalidArgumentError("decision must be 'approve' or 'reject'", field="decision")
    req = u.svc.promotion.review(who, request_id, approve=decision == "approve", comment=comment)
    return RedirectResponse(
        f"/registries/{quote(req.registry)}/collections/{quote(req.collection)}/versions/{req.version}",
        status_code=303,
    )


@router.post("/registries/{registry}/collections/{collection}/aliases/{alias}/rollback")
def rollback(
    registry: str,
    collection: str,
    alias: str,
    f: dict[str, str] = Depends(form),
    u: Ui = Depends(ui),
) -> Response:
    _check_csrf(u, f.get("csrf_token"))
    who = u.require_actor()
    if f.get("confirm", "").strip() != alias:
        raise InvalidArgumentError(f"type the alias name '{alias}' to confirm the rollback", field="confirm")
    u.svc.registry.rollback_alias(who, registry, collection, alias)
    return RedirectResponse(f"/registries/{quote(registry)}/collections/{quote(collection)}", status_code=303)


@router.get("/audit")
def audit_page(
    actor_name: str | None = Query(None, alias="actor"),
    action: str | None = Query(None),
    target: str | None = Query(None),
    since: str | None = Query(None),
    until: str | None = Query(None),
    page_token: str | None = Query(None),
    u: Ui = Depends(ui),
) -> Response:
    who = u.require_actor()
    page = u.svc.audit.list_events(
        who,
        principal=actor_name or None,
        action=action or None,
        target_prefix=target or None,
        since=_day(since, "since"),
        until=_day(until, "until", end=True),
        descending=True,
        page_size=100,
        page_token=page_token,
    )
    filters = {
        "actor": actor_name or "",
        "action": action or "",
        "target": target or "",
        "since": since or "",
        "until": until or "",
    }
    bounds = {"since": _day(since, "since"), "until": _day(until, "until", end=True)}
    export = {k: v for k, v in (("principal", actor_name), ("action", action), ("target_prefix", target)) if v}
    export.update({k: v.isoformat() for k, v in bounds.items() if v is not None})
    export_query = f"?{urlencode(export)}" if export else ""
    return render(u, "audit.html", page=page, filters=filters, export_query=export_query)


@router.get("/experiments/{experiment_id}/runs/{run_id}")
def run_page(experiment_id: str, run_id: str, u: Ui = Depends(ui)) -> Response:
    """Where the run links the MLflow client prints land (``/#/experiments/<id>/runs/<run>``
    reaches the server as ``/``; ``static/ui.js`` forwards it here)."""
    who = u.require_actor()
    tracking = u.request.app.state.mlflow.tracking
    run = tracking.get_run(who, run_id)
    if run.experiment_id != experiment_id:
        raise NotFoundError(f"experiment {experiment_id} has no run '{run_id}'", run_id=run_id)
    models, _ = tracking.search_logged_models(who, experiment_ids=[experiment_id], limit=100)
    latest: dict[str, Any] = {}
    for m in run.metrics:
        if m.key not in latest or (m.step, m.at) >= (latest[m.key].step, latest[m.key].at):
            latest[m.key] = m
    return render(
        u,
        "run.html",
        run=run,
        metrics=sorted(latest.values(), key=lambda m: m.key),
        models=[m for m in models if m.source_run_id == run.id],
        versions=u.svc.registry.versions_of_run(run.id, actor=who),
    )


def _day(text: str | None, name: str, *, end: bool = False) -> datetime | None:
    """A date field (``YYYY-MM-DD``, a UTC day) as the start of that day, or of the next (``end``)."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidArgumentError(f"'{name}' must be a date like 2026-03-01", field=name) from exc
    return datetime.combine(day + timedelta(days=1) if end else day, time.min, tzinfo=UTC)


def install(app: FastAPI) -> None:
    """Mount the UI on ``app``: pages at ``/``, static files at ``/static``, the session key."""
    key = app.state.services.settings.ui_session_key
    app.state.ui_session_key = key.get_secret_value().encode() if key is not None else secrets.token_bytes(32)
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")


def is_ui_path(path: str) -> bool:
    """Paths the UI owns: everything outside the APIs. The UI authenticates them itself (from its
    session, sending the browser to the sign-in form), so the API edge lets them through."""
    return not path.startswith(("/api/", "/ajax-api/", "/mlflow/"))


def is_ui_request(request: Request) -> bool:
    """Whether an error on this request should render as an HTML page."""
    if getattr(request.state, "ui", False):
        return True
    path = request.url.path
    return is_ui_path(path) and not path.startswith("/static/") and "text/html" in request.headers.get("accept", "")


__all__ = ["error_page", "install", "is_ui_path", "is_ui_request", "session_token_for"]
