"""The UI in process (ASGI, no sockets): sign-in and cookies, CSRF, escaping, visibility, errors.

The same services as ``/api/v1`` decide: a restricted registry is a 404 page for a
non-member exactly as a missing one is, and a download through the UI's link obeys the
download rule.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from ui_world import HOSTILE, WEIGHTS_2, UiWorld

from modelyard.web import session

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no form with a CSRF value"
    return found.group(1)


def sign_in(client: Any, token: str) -> None:
    page = client.get("/signin")
    r = client.post(
        "/signin", data={"token": token, "csrf_token": csrf_of(page.text), "next": "/"}, follow_redirects=False
    )
    assert r.status_code == 303, r.text


@pytest.mark.parametrize("backend", ["sqlite"])
def test_signed_out_pages_send_the_browser_to_sign_in(client: Any) -> None:
    r = client.get("/registries/open", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/signin?next=%2Fregistries%2Fopen"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_session_cookie_is_httponly_samesite_lax_and_secure_only_over_https(client: Any, world: UiWorld) -> None:
    page = client.get("/signin")
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    r = client.post(
        "/signin",
        data={"token": world.tokens["alice"], "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    signed = r.headers["set-cookie"]
    assert "HttpOnly" in signed and "SameSite=lax" in signed
    assert world.tokens["alice"] not in page.text + r.text  # never rendered

    https = client.__class__(client.app).get("https://testserver/signin")
    assert "Secure" in https.headers["set-cookie"]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_sign_in_with_a_wrong_token_says_so_and_sets_no_session(client: Any) -> None:
    page = client.get("/signin")
    r = client.post("/signin", data={"token": "nope", "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 401
    assert "invalid API token" in r.text
    assert client.get("/", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_post_without_the_session_csrf_value_is_refused_and_changes_nothing(client: Any, world: UiWorld) -> None:
    sign_in(client, world.tokens["approver"])
    url = f"/promotions/{world.request_id}/review"
    for data in ({"decision": "approve"}, {"decision": "approve", "csrf_token": "forged"}):
        r = client.post(url, data=data, follow_redirects=False)
        assert r.status_code == 403
        assert "did not come from this site" in r.text
        assert r.headers["content-type"].startswith("text/html")
    page = client.get("/registries/open/collections/fraud-detector/versions/2")
    assert "<strong>open</strong>" in page.text  # the request is still open: nothing was approved
    # A valid value from another session (another browser) is refused too: the value is session-bound.
    other = client.__class__(client.app)
    other_csrf = csrf_of(other.get("/signin").text)
    assert client.post(url, data={"decision": "approve", "csrf_token": other_csrf}).status_code == 403
    # Sign-in itself is CSRF-protected (login CSRF).
    fresh = client.__class__(client.app)
    r = fresh.post("/signin", data={"token": world.tokens["viewer"]}, follow_redirects=False)
    assert r.status_code == 403


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_forged_session_cookie_is_ignored(client: Any, world: UiWorld) -> None:
    forged = session.dump(b"not the server key", session.new_session(world.tokens["root"]))
    client.cookies.set(session.COOKIE, forged)
    assert client.get("/", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("backend", ["sqlite"])
def test_markdown_is_rendered_and_raw_html_and_script_links_are_escaped(client: Any, world: UiWorld) -> None:
    sign_in(client, world.tokens["alice"])
    html = client.get("/registries/open/collections/fraud-detector").text
    assert "<strong>model</strong>" in html
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html or "&lt;script&gt;" in html
    assert 'href="javascript:' not in html
    assert HOSTILE  # the world carries the hostile description


@pytest.mark.parametrize("backend", ["sqlite"])
def test_search_shows_escaped_names_and_only_visible_registries(client: Any, world: UiWorld) -> None:
    sign_in(client, world.tokens["viewer"])
    html = client.get("/search", params={"q": "<b>model"}).text
    assert "&lt;b&gt;model" in html and "<b>model" not in html
    everything = client.get("/search", params={"q": ""}).text
    assert "open/fraud-detector" in everything
    assert "hidden-model" not in everything


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_restricted_registry_is_the_same_404_page_as_a_missing_one(client: Any, world: UiWorld) -> None:
    sign_in(client, world.tokens["viewer"])
    hidden = client.get("/registries/secret")
    missing = client.get("/registries/no-such")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.headers["content-type"].startswith("text/html")
    strip = re.compile(r"registry &#39;[^&]*&#39;|request id <code>[^<]*</code>")
    assert strip.sub("", hidden.text) == strip.sub("", missing.text)
    assert client.get("/registries/secret/collections/hidden-model/versions/1").status_code == 404
    sign_in(client, world.tokens["alice"])
    assert client.get("/registries/secret").status_code == 200


@pytest.mark.parametrize("backend", ["sqlite"])
def test_download_link_serves_bytes_per_the_download_rule(client: Any, world: UiWorld) -> None:
    sign_in(client, world.tokens["viewer"])
    html = client.get("/registries/open/collections/fraud-detector/versions/2").text
    link = "/api/v1/registries/open/collections/fraud-detector/versions/2/files/model.bin"
    assert link in html
    r = client.get(link)
    assert r.status_code == 200 and r.content == WEIGHTS_2
    # The session only ever reads: a write through the API with the cookie alone is unauthenticated.
    assert client.delete("/api/v1/registries/open/collections/fraud-detector/versions/2").status_code == 401
    # Signed out: no bytes.
    client.cookies.clear()
    assert client.get(link).status_code == 401


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_approver_approves_a_promotion_and_the_alias_moves(client: Any, world: UiWorld) -> None:
    sign_in(client, world.tokens["approver"])
    home = client.get("/").text
    assert "Waiting for me" in home and "open/fraud-detector:2" in home
    page = client.get("/registries/open/collections/fraud-detector/versions/2")
    r = client.post(
        f"/promotions/{world.request_id}/review",
        data={"decision": "approve", "comment": "looks good", "csrf_token": csrf_of(page.text)},
    )
    assert r.status_code == 200
    assert "<strong>completed</strong>" in r.text and "looks good" in r.text
    col = client.get("/registries/open/collections/fraud-detector").text
    assert "production" in col


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_requester_cannot_approve_and_is_told_why(client: Any, world: UiWorld) -> None:
    sign_in(client, world.tokens["alice"])
    assert "open/fraud-detector:2" not in client.get("/").text.split("Recent activity")[0]
    page = client.get("/registries/open/collections/fraud-detector/versions/2")
    r = client.post(
        f"/promotions/{world.request_id}/review", data={"decision": "approve", "csrf_token": csrf_of(page.text)}
    )
    assert r.status_code == 403 and "approving needs the &#39;admin&#39; role" in r.text.replace("&#x27;", "&#39;")


@pytest.mark.parametrize("backend", ["sqlite"])
def test_rollback_needs_the_alias_typed_and_moves_it_back(client: Any, world: UiWorld) -> None:
    sign_in(client, world.tokens["alice"])
    page = client.get("/registries/open/collections/fraud-detector")
    url = "/registries/open/collections/fraud-detector/aliases/champion/rollback"
    wrong = client.post(url, data={"confirm": "oops", "csrf_token": csrf_of(page.text)})
    assert wrong.status_code == 400 and "type the alias name" in wrong.text
    r = client.post(url, data={"confirm": "champion", "csrf_token": csrf_of(page.text)})
    assert r.status_code == 200
    assert re.search(r'champion</span></td>\s*<td><a href="[^"]+/versions/1">v1', r.text)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_compare_highlights_the_differences(client: Any, world: UiWorld) -> None:
    sign_in(client, world.tokens["viewer"])
    r = client.get("/compare", params={"v": ["open/fraud-detector:1", "open/fraud-detector:2"]})
    assert r.status_code == 200
    rows = {
        m.group(2): m.group(1)
        for m in re.finditer(r'<tr( class="differs")?><td>[a-z]+</td><th scope="row">([^< ]+)', r.text)
    }
    assert rows["lr"] and rows["auc"] and rows["model.bin"]
    assert not rows["epochs"] and not rows["config.json"]
    assert client.get("/compare", params={"v": ["open/fraud-detector:1"]}).status_code == 400
    assert client.get("/compare", params={"v": ["open/fraud-detector:1", "secret/hidden-model:1"]}).status_code == 404


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_json_api_keeps_its_json_errors(client: Any, world: UiWorld) -> None:
    r = client.get("/api/v1/registries/open", headers={"Accept": "text/html"})
    assert r.status_code == 401 and r.json()["code"] == "UNAUTHENTICATED"
    auth = {"Accept": "text/html", "Authorization": f"Bearer {world.tokens['viewer']}"}
    r = client.get("/api/v1/registries/secret", headers=auth)
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"
    r = client.get("/api/v1/nope", headers=auth)
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_search_box_filters_by_tag_and_alias(client: Any, world: UiWorld) -> None:
    sign_in(client, world.tokens["alice"])
    assert "open/fraud-detector" in client.get("/search", params={"q": "tag:team=risk"}).text
    assert "open/fraud-detector" not in client.get("/search", params={"q": "tag:team=other"}).text
    assert "open/fraud-detector" in client.get("/search", params={"q": "alias:champion fraud"}).text
    assert "No collections found" in client.get("/search", params={"q": "alias:production"}).text
    assert "open/fraud-detector" in client.get("/registries/open", params={"q": "tag:team=risk"}).text
    assert "open/fraud-detector" not in client.get("/registries/open", params={"q": "alias:nope"}).text
    r = client.get("/search", params={"q": "tag:=x"})
    assert r.status_code == 400 and "use &#39;key&#39; or &#39;key=value&#39;" in r.text.replace("&#x27;", "&#39;")


@pytest.mark.parametrize("backend", ["sqlite"])
def test_registry_settings_show_what_the_api_shows_to_that_principal(client: Any, world: UiWorld) -> None:
    sign_in(client, world.tokens["viewer"])
    html = client.get("/registries/open").text
    assert "Members and roles" in html and "<td>viewer</td><td>user</td><td>viewer</td>" in html
    assert "production" in html  # the protected alias and its policy
    members = client.get("/api/v1/registries/open/members").json()["items"]
    assert {m["subject"] for m in members} == {"alice", "approver", "viewer"}


@pytest.mark.parametrize("backend", ["sqlite"])
def test_compare_draws_a_bar_per_version_for_each_metric(client: Any, world: UiWorld) -> None:
    sign_in(client, world.tokens["viewer"])
    html = client.get("/compare", params={"v": ["open/fraud-detector:1", "open/fraud-detector:2"]}).text
    chart = html.split('id="h-charts"', 1)[1]
    assert "<figcaption>auc</figcaption>" in chart
    assert 'data-width="97"' in chart and 'data-width="100"' in chart  # 0.91 / 0.94, 0.94 / 0.94


@pytest.mark.parametrize("backend", ["sqlite"])
def test_audit_page_filters_and_links_the_export_and_the_chain_check(client: Any, world: UiWorld) -> None:
    sign_in(client, world.tokens["viewer"])
    html = client.get("/audit", params={"action": "alias.set"}).text
    assert html.count("<code>alias.set</code>") == 2
    assert "<code>version.created</code>" not in html
    assert "hidden-model" not in client.get("/audit").text  # secret's events are invisible to viewer
    assert 'href="/api/v1/events/export?action=alias.set"' in html
    assert "Verify the hash chain" not in html
    export = client.get("/api/v1/events/export", params={"action": "alias.set"})
    assert export.status_code == 200 and export.text.count("\n") == 2
    sign_in(client, world.tokens["root"])
    assert "Verify the hash chain" in client.get("/audit").text
    assert client.get("/api/v1/audit/verify").json()["ok"] is True


@pytest.mark.parametrize("backend", ["sqlite"])
def test_every_input_has_a_label_and_pages_have_landmarks(client: Any, world: UiWorld) -> None:
    sign_in(client, world.tokens["approver"])
    for url in (
        "/",
        "/search?q=fraud",
        "/registries/open",
        "/registries/open/collections/fraud-detector",
        "/registries/open/collections/fraud-detector/versions/2",
        "/audit",
    ):
        html = client.get(url).text
        assert "<main" in html and "<header" in html and "<nav" in html, url
        labelled = set(re.findall(r'<label for="([^"]+)"', html))
        for tag in re.findall(r"<input[^>]*>", html):
            if 'type="hidden"' in tag or "aria-label=" in tag:
                continue
            found = re.search(r'id="([^"]+)"', tag)
            assert found and found.group(1) in labelled, f"{url}: input without a label: {tag}"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_versions_table_is_keyset_paged_and_sortable(client: Any, world: UiWorld, ui_services: Any) -> None:
    from modelyard.domain.actor import SYSTEM

    files = ui_services.registry.get_version("open", "fraud-detector", 1).files
    for _ in range(58):  # 60 versions: one page of 50 and one of 10
        ui_services.registry.create_version(SYSTEM, "open", "fraud-detector", files=files)
    sign_in(client, world.tokens["viewer"])
    numbers = re.compile(r'<td><a href="[^"]+/versions/(\d+)">v\d+</a></td>')
    first = client.get("/registries/open/collections/fraud-detector").text.split('id="h-versions"')[1]
    assert [int(n) for n in numbers.findall(first)] == list(range(60, 10, -1))
    link = re.search(r'rel="next" href="\?([^"]+)"', first)
    assert link
    second = client.get("/registries/open/collections/fraud-detector?" + link.group(1).replace("&amp;", "&")).text
    second = second.split('id="h-versions"')[1]
    assert [int(n) for n in numbers.findall(second)] == list(range(10, 0, -1))
    assert 'rel="next"' not in second
    oldest = client.get("/registries/open/collections/fraud-detector", params={"order": "oldest"}).text
    oldest = oldest.split('id="h-versions"')[1]
    assert [int(n) for n in numbers.findall(oldest)][:3] == [1, 2, 3]
    # A token of one order is refused in the other (the page says what went wrong).
    token = link.group(1).split("page_token=")[1]
    r = client.get(f"/registries/open/collections/fraud-detector?order=oldest&page_token={token}")
    assert r.status_code == 400 and "not a token this server issued" in r.text


@pytest.mark.parametrize("backend", ["sqlite"])
def test_an_unknown_page_is_an_html_404_for_browsers_and_json_for_others(client: Any, world: UiWorld) -> None:
    sign_in(client, world.tokens["viewer"])
    page = client.get("/no/such/page", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "there is no such page" in page.text and "viewer" in page.text  # still signed in
    assert client.get("/no/such/page", headers={"Accept": "application/json"}).json()["code"] == "NOT_FOUND"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_with_auth_off_the_ui_opens_as_the_local_admin(settings: Any) -> None:
    from fastapi.testclient import TestClient

    from modelyard.api.app import create_app
    from modelyard.bootstrap import build_registry

    svc = build_registry(settings.model_copy(update={"auth": "off"}))
    try:
        with TestClient(create_app(services=svc)) as c:
            home = c.get("/", follow_redirects=False)
            assert home.status_code == 200 and "<span>local</span>" in home.text
            assert "Sign out" not in home.text
    finally:
        svc.close()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_member_requests_a_promotion_and_a_viewer_is_refused(client: Any, world: UiWorld) -> None:
    sign_in(client, world.tokens["viewer"])
    page = client.get("/registries/open/collections/fraud-detector/versions/1")
    url = "/registries/open/collections/fraud-detector/promotions"
    form = {"version": "1", "alias": "production", "comment": "please", "csrf_token": csrf_of(page.text)}
    refused = client.post(url, data=form)
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html")
    sign_in(client, world.tokens["alice"])
    page = client.get("/registries/open/collections/fraud-detector/versions/1")
    bad = client.post(url, data={**form, "version": "one", "csrf_token": csrf_of(page.text)})
    assert bad.status_code == 400 and "&#39;version&#39; must be a whole number" in bad.text.replace("&#x27;", "&#39;")
    r = client.post(url, data={**form, "csrf_token": csrf_of(page.text)})
    assert r.status_code == 200
    version_page = client.get("/registries/open/collections/fraud-detector/versions/1").text
    assert 'move <span class="alias">production</span> here · <strong>open</strong> · asked by alice' in version_page
    assert "missing: " in version_page  # the approval it still needs


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_run_page_lists_the_versions_registered_from_the_run_that_you_may_see(
    client: Any, world: UiWorld, ui_services: Any
) -> None:
    from modelyard.domain.actor import SYSTEM
    from modelyard.domain.models import RunRef, VersionMetadata

    tracking = client.app.state.mlflow.tracking
    alice = ui_services.identity.authenticate(world.tokens["alice"])
    exp = tracking.create_experiment(alice, "lineage")
    run = tracking.create_run(alice, exp, run_name="train")
    files = ui_services.registry.get_version("open", "fraud-detector", 1).files
    md = VersionMetadata(run=RunRef(run.id))
    ui_services.registry.create_version(SYSTEM, "open", "fraud-detector", files=files, metadata=md)
    ui_services.registry.create_version(SYSTEM, "secret", "hidden-model", files=files[:1], metadata=md)

    sign_in(client, world.tokens["alice"])
    html = client.get(f"/experiments/{exp}/runs/{run.id}").text
    assert "open/fraud-detector:3" in html and "secret/hidden-model:2" in html
    # The viewer may not read alice's experiment (default NO_PERMISSIONS): the run is a 404 page.
    sign_in(client, world.tokens["viewer"])
    assert client.get(f"/experiments/{exp}/runs/{run.id}").status_code == 404
    # Granted READ on the experiment, it sees the run and only the versions in registries it can read.
    tracking.set_experiment_permission(alice, exp, principal="viewer", permission="READ")
    html = client.get(f"/experiments/{exp}/runs/{run.id}").text
    assert "open/fraud-detector:3" in html and "hidden-model" not in html
    assert client.get(f"/experiments/999/runs/{run.id}").status_code == 404


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example/", "/\t/evil.example"])
def test_sign_in_never_redirects_to_another_site(client: Any, world: UiWorld, target: str) -> None:
    page = client.get("/signin")
    r = client.post(
        "/signin",
        data={"token": world.tokens["alice"], "csrf_token": csrf_of(page.text), "next": target},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_audit_page_filters_by_day(client: Any, world: UiWorld) -> None:
    from datetime import UTC, datetime, timedelta

    sign_in(client, world.tokens["viewer"])
    today = datetime.now(UTC).date()
    html = client.get("/audit", params={"action": "alias.set", "since": str(today), "until": str(today)}).text
    assert html.count("<code>alias.set</code>") == 2
    assert f"since={today}T00%3A00%3A00%2B00%3A00" in html  # the export link carries the same window
    tomorrow = today + timedelta(days=1)
    assert "<code>alias.set</code>" not in client.get("/audit", params={"since": str(tomorrow)}).text
    r = client.get("/audit", params={"since": "yesterday"})
    assert r.status_code == 400 and "must be a date like 2026-03-01" in r.text


@pytest.mark.parametrize("backend", ["sqlite"])
def test_registry_admin_changes_members_and_visibility_and_others_are_refused(
    client: Any, world: UiWorld, ui_services: Any
) -> None:
    from modelyard.domain.actor import SYSTEM

    url = "/registries/open/settings"
    sign_in(client, world.tokens["viewer"])
    page = client.get("/registries/open")
    refused = client.post(
        url, data={"change": "visibility", "visibility": "restricted", "csrf_token": csrf_of(page.text)}
    )
    assert refused.status_code == 403
    assert ui_services.registry.get_registry("open", actor=SYSTEM).visibility == "organization"

    sign_in(client, world.tokens["approver"])
    token = csrf_of(client.get("/registries/open").text)
    r = client.post(url, data={"change": "grant", "subject": "alice", "role": "admin", "csrf_token": token})
    assert r.status_code == 200 and "<td>alice</td><td>user</td><td>admin</td>" in r.text
    r = client.post(url, data={"change": "revoke", "subject": "viewer", "subject_kind": "user", "csrf_token": token})
    assert "<td>viewer</td>" not in r.text
    r = client.post(url, data={"change": "visibility", "visibility": "restricted", "csrf_token": token})
    assert r.status_code == 200
    assert ui_services.registry.get_registry("open", actor=SYSTEM).visibility == "restricted"
    bad = client.post(url, data={"change": "grant", "subject": "alice", "role": "boss", "csrf_token": token})
    assert bad.status_code == 400 and "role" in bad.text
    # The removed viewer no longer sees the now restricted registry at all.
    sign_in(client, world.tokens["viewer"])
    assert client.get("/registries/open").status_code == 404


def _policies(svc: Any) -> dict[tuple[str, str | None], tuple[bool, dict[str, Any]]]:
    from modelyard.domain.actor import SYSTEM

    return {
        (p.alias, p.collection): (p.protected, p.requirements) for p in svc.identity.list_alias_policies(SYSTEM, "open")
    }


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_registry_admin_creates_edits_and_deletes_a_promotion_policy(
    client: Any, world: UiWorld, ui_services: Any
) -> None:
    url = "/registries/open/settings"
    sign_in(client, world.tokens["approver"])
    token = csrf_of(client.get("/registries/open").text)
    new = {
        "change": "policy",
        "form_id": "policy-new",
        "alias": "staging",
        "collection": "fraud-detector",
        "protected": "on",
        "approvals": "2",
        "approver_role": "member",
        "checks": "unit-tests, bias-scan",
        "guards_stage": "on",
        "csrf_token": token,
    }
    r = client.post(url, data=new)
    assert r.status_code == 200 and 'id="policy-new"' in r.text
    protected, req = _policies(ui_services)[("staging", "fraud-detector")]
    assert protected and req["approvals"] == 2 and req["checks"] == ["unit-tests", "bias-scan"]
    assert req["auto_promote"] is False and "guards_stage" not in req  # unticked box: off; ticked: the default
    # Edit the registry-wide production policy through its row's form: fewer approvals, not guarding its stage.
    row = re.search(r'<form [^>]*id="(policy-\d+)">(?:(?!</form>).)*value="production"', r.text, re.S)
    assert row
    edit = {
        "change": "policy",
        "form_id": row.group(1),
        "alias": "production",
        "collection": "",
        "protected": "on",
        "approvals": "0",
        "approver_role": "admin",
        "checks": "smoke",
        "auto_promote": "on",
        "csrf_token": token,
    }
    assert client.post(url, data=edit).status_code == 200
    protected, req = _policies(ui_services)[("production", None)]
    assert protected and req["approvals"] == 0 and req["checks"] == ["smoke"] and req["guards_stage"] is False
    # Unprotect, then delete.
    assert client.post(url, data={**edit, "protected": ""}).status_code == 200
    assert _policies(ui_services)[("production", None)][0] is False
    r = client.post(
        url, data={"change": "policy-delete", "alias": "staging", "collection": "fraud-detector", "csrf_token": token}
    )
    assert r.status_code == 200 and ("staging", "fraud-detector") not in _policies(ui_services)
    r = client.post(url, data={"change": "types", "artifact_types": "model, dataset", "csrf_token": token})
    assert r.status_code == 200 and 'value="model, dataset"' in r.text
    assert ui_services.registry.get_registry("open", actor=None).artifact_types == ("model", "dataset")


@pytest.mark.parametrize("backend", ["sqlite"])
def test_policy_changes_are_refused_to_non_admins_and_without_csrf_and_change_nothing(
    client: Any, world: UiWorld, ui_services: Any
) -> None:
    url = "/registries/open/settings"
    before = _policies(ui_services)
    form = {"change": "policy", "form_id": "policy-new", "alias": "staging", "protected": "on", "approvals": "1"}
    sign_in(client, world.tokens["alice"])  # a member, not an admin
    page = client.get("/registries/open").text
    refused = client.post(url, data={**form, "csrf_token": csrf_of(page)})
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html")
    delete = {"change": "policy-delete", "alias": "production", "csrf_token": csrf_of(page)}
    assert client.post(url, data=delete).status_code == 403
    types = {"change": "types", "artifact_types": "model, dataset", "csrf_token": csrf_of(page)}
    assert client.post(url, data=types).status_code == 403
    sign_in(client, world.tokens["approver"])
    for data in (form, {**form, "csrf_token": "forged"}, {"change": "policy-delete", "alias": "production"}):
        r = client.post(url, data=data)
        assert r.status_code == 403 and "did not come from this site" in r.text
    assert _policies(ui_services) == before
    assert ui_services.registry.get_registry("open", actor=None).artifact_types == ("model",)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_rejected_settings_form_shows_the_submitted_values_and_the_error_next_to_the_field(
    client: Any, world: UiWorld, ui_services: Any
) -> None:
    url = "/registries/open/settings"
    before = _policies(ui_services)
    sign_in(client, world.tokens["approver"])
    token = csrf_of(client.get("/registries/open").text)
    form = {
        "change": "policy",
        "form_id": "policy-new",
        "alias": "canary",
        "protected": "on",
        "approvals": "99",
        "checks": "lint",
        "approver_role": "member",
        "csrf_token": token,
    }
    r = client.post(url, data=form)
    assert r.status_code == 400 and r.headers["content-type"].startswith("text/html")
    new = r.text.split('id="policy-new"', 1)[1].split("</form>", 1)[0]
    assert 'id="policy-new-approvals-error"' in new and "approvals must be an integer from 0 to 20" in new
    assert 'value="canary"' in new and 'value="99"' in new and 'value="lint"' in new
    assert 'aria-describedby="policy-new-approvals-error"' in new
    r = client.post(url, data={**form, "approvals": "1", "checks": "no spaces allowed!"})
    assert r.status_code == 400 and 'id="policy-new-checks-error"' in r.text
    r = client.post(url, data={"change": "types", "artifact_types": "model, Not A Type", "csrf_token": token})
    assert (
        r.status_code == 400 and 'value="model, Not A Type"' in r.text and 'id="types-artifact_types-error"' in r.text
    )
    assert _policies(ui_services) == before
    assert ui_services.registry.get_registry("open", actor=None).artifact_types == ("model",)
    # The admin sees the settings with the message; the page is still the registry page.
    assert "Members and roles" in r.text


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_rejected_promotion_request_shows_the_form_again_with_the_error_next_to_the_alias(
    client: Any, world: UiWorld, ui_services: Any
) -> None:
    from modelyard.domain.actor import SYSTEM

    url = "/registries/open/collections/fraud-detector/promotions"
    sign_in(client, world.tokens["alice"])
    page = client.get("/registries/open/collections/fraud-detector/versions/1")
    form = {"version": "1", "alias": "Not An Alias!", "comment": "for the demo", "csrf_token": csrf_of(page.text)}
    r = client.post(url, data=form)
    assert r.status_code == 400 and r.headers["content-type"].startswith("text/html")
    assert 'id="promote-alias-error"' in r.text and 'aria-describedby="promote-alias-error"' in r.text
    assert 'value="Not An Alias!"' in r.text and 'value="for the demo"' in r.text
    assert "<h2" in r.text and "Audit events" in r.text  # the version page itself, not a bare error page
    assert len(ui_services.promotion.list(SYSTEM, "open", "fraud-detector", limit=50)) == 1  # only the world's
    # A version that is not a number has no page to show again: the plain error page, still a 400.
    bad = client.post(url, data={**form, "version": "one"})
    assert bad.status_code == 400 and "must be a whole number" in bad.text


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_members_set_and_remove_collection_tags_and_viewers_are_refused(
    client: Any, world: UiWorld, ui_services: Any
) -> None:
    from modelyard.domain.actor import SYSTEM

    url = "/registries/open/collections/fraud-detector/tags"

    def tags() -> dict[str, str]:
        return dict(ui_services.registry.get_collection("open", "fraud-detector", actor=SYSTEM).tags)

    sign_in(client, world.tokens["viewer"])
    token = csrf_of(client.get("/registries/open/collections/fraud-detector").text)
    refused = client.post(url, data={"change": "set", "key": "owner", "value": "eve", "csrf_token": token})
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html")
    assert client.post(url, data={"change": "unset", "key": "team", "csrf_token": token}).status_code == 403
    sign_in(client, world.tokens["alice"])
    for data in (
        {"change": "set", "key": "owner", "value": "eve"},
        {"change": "unset", "key": "team", "csrf_token": "x"},
    ):
        r = client.post(url, data=data)
        assert r.status_code == 403 and "did not come from this site" in r.text
    assert tags() == {"team": "risk"}  # nothing changed by the refusals

    token = csrf_of(client.get("/registries/open/collections/fraud-detector").text)
    r = client.post(url, data={"change": "set", "key": "owner", "value": "ml-team", "csrf_token": token})
    assert r.status_code == 200 and '<span class="tag">owner=ml-team</span>' in r.text
    r = client.post(url, data={"change": "unset", "key": "team", "csrf_token": token})
    assert r.status_code == 200 and "team=risk" not in r.text
    assert tags() == {"owner": "ml-team"}
    bad = client.post(url, data={"change": "set", "key": "bad key!", "value": "v", "csrf_token": token})
    assert bad.status_code == 400 and 'id="tag-key-error"' in bad.text and 'value="bad key!"' in bad.text
    missing = client.post(url, data={"change": "unset", "key": "nope", "csrf_token": token})
    assert missing.status_code == 404 and "has no tag" in missing.text
    assert tags() == {"owner": "ml-team"}
    events = ui_services.audit.list_events(SYSTEM, principal="alice", descending=True, page_size=10).items
    assert {e.action for e in events} >= {"collection.tag_set", "collection.tag_unset"}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_versions_table_sorts_by_created_time_stage_and_aliases_keyset_paged(
    client: Any, world: UiWorld, ui_services: Any
) -> None:
    from datetime import UTC, datetime, timedelta

    from modelyard.domain.actor import SYSTEM

    files = ui_services.registry.get_version("open", "fraud-detector", 1).files
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(3, 61):  # 60 versions; created times run backwards from number 3 on
        ui_services.registry._clock = lambda n=n: base - timedelta(minutes=n)
        ui_services.registry.create_version(SYSTEM, "open", "fraud-detector", files=files)
    for n, stage in ((7, "Staging"), (9, "Staging"), (5, "Archived")):
        ui_services.registry.set_stage(SYSTEM, "open", "fraud-detector", n, stage)
    ui_services.registry.set_alias(SYSTEM, "open", "fraud-detector", "canary", 30)
    sign_in(client, world.tokens["viewer"])
    numbers = re.compile(r'<td><a href="[^"]+/versions/(\d+)">v\d+</a></td>')
    url = "/registries/open/collections/fraud-detector"

    def pages(params: dict[str, str]) -> list[list[int]]:
        out = []
        html = client.get(url, params=params).text.split('id="h-versions"')[1]
        while True:
            out.append([int(n) for n in numbers.findall(html)])
            link = re.search(r'rel="next" href="\?([^"]+)"', html)
            if not link:
                return out
            html = client.get(url + "?" + link.group(1).replace("&amp;", "&")).text.split('id="h-versions"')[1]

    created = pages({"sort": "created", "order": "newest"})
    assert [len(p) for p in created] == [50, 10]  # bounded pages, never all 60 at once
    # Versions 1 and 2 are the world's (created now, the latest); then 3, 4, ... (created earlier and earlier).
    assert sum(created, []) == [2, 1, *range(3, 61)]
    assert sum(pages({"sort": "created", "order": "oldest"}), []) == [*range(60, 2, -1), 1, 2]
    stage = sum(pages({"sort": "stage", "order": "newest"}), [])
    assert stage[:3] == [9, 7, 60] and stage[-1] == 5 and len(stage) == len(set(stage)) == 60
    assert sum(pages({"sort": "stage", "order": "oldest"}), [])[:3] == [5, 1, 2]
    aliased = sum(pages({"sort": "aliases", "order": "newest"}), [])
    assert aliased[:2] == [30, 2] and len(set(aliased)) == 60  # canary and champion holders first
    html = client.get(url, params={"sort": "stage"}).text
    assert 'aria-sort="descending"><a href="?sort=stage&amp;order=oldest">Stage ↓' in html
    # A token of one sort is refused in another; an unknown sort is a 400 page.
    token = re.search(r"page_token=([^\"&]+)", html.split('rel="next"')[1]).group(1)  # type: ignore[union-attr]
    r = client.get(url + f"?sort=created&order=newest&page_token={token}")
    assert r.status_code == 400 and "not a token this server issued" in r.text
    assert client.get(url, params={"sort": "size"}).status_code == 400
