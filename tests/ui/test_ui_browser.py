"""The UI in a real headless Chromium (Debian's ``chromium``, driven by Playwright) against a
real ``modelyard serve`` process on the UI world (``ui_world.py``): every click goes through
the browser, the server and the services. The suite also takes screenshots of the main pages;
with ``MODELYARD_UI_SCREENSHOTS=docs/ui`` it writes them where the README shows them.

Chromium comes from the distribution (``.ci/run`` installs it); Playwright only drives it:
``playwright install`` is never run.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ui_world import WEIGHTS_2, UiWorld, build_ui_world

from modelyard.bootstrap import build_registry
from modelyard.domain.actor import SYSTEM
from modelyard.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("backend", ["sqlite"])]

ROOT = Path(__file__).resolve().parents[2]
# The checked-in screenshots (docs/ui/) are rewritten only when asked, so a test run leaves the
# checkout clean: MODELYARD_UI_SCREENSHOTS=docs/ui pytest tests/ui/test_ui_browser.py
SHOTS = Path(os.environ.get("MODELYARD_UI_SCREENSHOTS") or tempfile.mkdtemp(prefix="modelyard-ui-shots-"))
if not SHOTS.is_absolute():
    SHOTS = ROOT / SHOTS
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    def __init__(self, url: str, world: UiWorld, settings: Settings) -> None:
        self.url, self.world, self.settings = url, world, settings


@pytest.fixture
def live(settings: Settings, tmp_path: Path) -> Iterator[LiveServer]:
    """``modelyard serve`` on the UI world (auth 'auto' turns on: an org admin's token exists)."""
    svc = build_registry(settings)
    try:
        world = build_ui_world(svc)
    finally:
        svc.close()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
    env.update(
        MODELYARD_DATABASE_URL=str(settings.database_url),
        MODELYARD_BLOBS__ROOT=str(settings.blobs.root),
        MODELYARD_WATCH_POLL_SECONDS="0.2",
        PYTHONUNBUFFERED="1",
    )
    exe = shutil.which("modelyard")
    cmd = [exe] if exe else [sys.executable, "-c", "import sys; from modelyard.cli import main; sys.exit(main())"]
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(
        [*cmd, "serve", "--port", str(port), "--data-dir", str(settings.data_dir)], env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (tmp_path / "server.log").read_text()
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        yield LiveServer(url, world, settings)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="chromium-") as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


def sign_in(page: Any, live: LiveServer, who: str, *, start: str = "/") -> None:
    page.goto(live.url + start)
    page.get_by_label("API token").fill(live.world.tokens[who])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert (SHOTS / f"{name}.png").stat().st_size > 1000  # a rendered page, not an empty image


def test_sign_in_search_and_browse_to_a_version(browser: Any, live: LiveServer) -> None:
    page = browser.new_page()
    page.goto(live.url + "/")
    assert page.url.startswith(live.url + "/signin")
    shot(page, "signin")
    sign_in(page, live, "approver", start="/signin")
    assert page.get_by_role("heading", name="Waiting for me").is_visible()
    assert page.get_by_role("link", name="open/fraud-detector:2").is_visible()
    shot(page, "home")

    page.get_by_label("Search every registry by name").fill("fraud")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=fraud")
    shot(page, "search")
    page.get_by_role("link", name="open/fraud-detector").click()
    page.wait_for_url("**/registries/open/collections/fraud-detector")
    assert page.locator(".description strong").inner_text() == "model"
    assert page.locator(".description script").count() == 0
    shot(page, "collection")

    page.get_by_role("link", name="v2", exact=True).first.click()
    page.wait_for_url("**/versions/2")
    files = page.locator("table.files tbody tr")
    assert files.count() == 2
    assert "model.bin" in files.nth(1).inner_text() or "model.bin" in files.nth(0).inner_text()
    shot(page, "version")

    # Compare: tick two versions on the collection page.
    page.goto(live.url + "/registries/open/collections/fraud-detector")
    page.get_by_label("compare v1").check()
    page.get_by_label("compare v2").check()
    page.get_by_role("button", name="Compare selected").click()
    page.wait_for_url("**/compare?**")
    assert "differs" in (page.locator("tr", has_text="auc").first.get_attribute("class") or "")
    shot(page, "compare")
    page.goto(live.url + "/audit")
    shot(page, "audit")

    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto(live.url + "/registries/open/collections/fraud-detector")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1  # no sideways scrolling
    shot(page, "collection-phone")


def test_version_download_link_serves_bytes_only_to_who_may_download(browser: Any, live: LiveServer) -> None:
    page = browser.new_page()
    sign_in(page, live, "viewer", start="/registries/open/collections/fraud-detector/versions/2")
    link = page.get_by_role("link", name="model.bin")
    with page.expect_download() as info:
        link.click()
    path = info.value.path()
    assert Path(path).read_bytes() == WEIGHTS_2
    # Signed out (another browser profile): the same link serves no bytes.
    href = link.get_attribute("href")
    assert httpx.get(live.url + href).status_code == 401


def test_a_viewer_cannot_see_a_restricted_registry_nor_reach_it_by_url(browser: Any, live: LiveServer) -> None:
    page = browser.new_page()
    sign_in(page, live, "viewer")
    assert page.get_by_role("link", name="open", exact=True).is_visible()
    assert page.get_by_role("link", name="secret", exact=True).count() == 0
    page.goto(live.url + "/search?q=model")
    assert "hidden-model" not in page.content()
    response = page.goto(live.url + "/registries/secret/collections/hidden-model")
    assert response is not None and response.status == 404
    assert page.get_by_role("heading", name="Not found").is_visible()
    missing = page.goto(live.url + "/registries/no-such-registry/collections/hidden-model")
    assert missing is not None and missing.status == 404


def test_a_csrf_less_post_is_refused_and_the_admin_edits_a_policy_on_the_page(browser: Any, live: LiveServer) -> None:
    page = browser.new_page()
    sign_in(page, live, "approver", start="/registries/open/collections/fraud-detector/versions/2")
    # A form posted without the session's CSRF value, as another site's page would send it.
    with page.expect_navigation():
        page.evaluate(
            """(id) => { const f = document.createElement('form'); f.method = 'post';
        f.action = '/promotions/' + id + '/review';
        const d = document.createElement('input'); d.name = 'decision'; d.value = 'approve'; f.appendChild(d);
        document.body.appendChild(f); f.submit(); }""",
            live.world.request_id,
        )
    assert page.get_by_role("heading", name="Not allowed").is_visible()
    assert "did not come from this site" in page.content()
    svc = build_registry(live.settings)
    try:
        assert svc.promotion.get(SYSTEM, live.world.request_id).status == "open"
    finally:
        svc.close()

    # The same registry admin edits the production policy through the settings page: a bad value
    # comes back next to its field with what was typed, then a good one is saved.
    page.goto(live.url + "/registries/open")
    page.locator("summary", has_text="Edit production").click()
    form = page.locator("form.policy-form", has=page.locator("input[name=alias][value=production]"))
    form.get_by_label("Approvals").fill("99")
    form.get_by_label("Required checks (comma-separated)").fill("unit-tests")
    with page.expect_response(lambda r: r.url.endswith("/registries/open/settings")) as rejected:
        form.get_by_role("button", name="Save policy").click()
    assert rejected.value.status == 400
    page.wait_for_load_state()
    form = page.locator("form.policy-form", has=page.locator("input[name=alias][value=production]"))
    assert form.is_visible()  # its details stay open on the error
    assert "approvals must be an integer from 0 to 20" in form.locator(".field-error").inner_text()
    assert form.get_by_label("Approvals").input_value() == "99"
    assert form.get_by_label("Required checks (comma-separated)").input_value() == "unit-tests"
    form.get_by_label("Approvals").fill("2")
    form.get_by_role("button", name="Save policy").click()
    page.wait_for_url("**/registries/open#h-settings")
    assert '"approvals": 2' in page.locator("tr", has_text="production").first.inner_text()
    shot(page, "registry-settings")
    svc = build_registry(live.settings)
    try:
        policy = next(p for p in svc.identity.list_alias_policies(SYSTEM, "open") if p.alias == "production")
        assert policy.protected and policy.requirements["approvals"] == 2
        assert policy.requirements["checks"] == ["unit-tests"] and policy.requirements["approver_role"] == "admin"
    finally:
        svc.close()


def test_approver_approves_then_a_member_rolls_back_and_the_page_updates_live(browser: Any, live: LiveServer) -> None:
    page = browser.new_page()
    sign_in(page, live, "approver", start="/registries/open/collections/fraud-detector/versions/2")
    page.get_by_label("Comment").first.fill("ship it")
    page.get_by_role("button", name="Approve").click()
    page.wait_for_load_state()
    assert "completed" in page.locator("#h-promo + .card").inner_text()
    shot(page, "promotion")

    watcher = browser.new_page()
    watcher.goto(live.url + "/registries/open/collections/fraud-detector")
    champion = "document.querySelector('#h-aliases + table tbody tr td:nth-child(2)').innerText"
    assert watcher.evaluate(champion) == "v2"
    watcher.wait_for_selector("html[data-live=on]", state="attached")  # its watch stream is open

    page.goto(live.url + "/registries/open/collections/fraud-detector")
    page.get_by_label("Type “champion” to confirm").fill("champion")
    page.locator("form[action$='/aliases/champion/rollback'] button").click()
    page.wait_for_load_state()
    # The other open page reloads by itself when the alias moves (EventSource on the watch stream).
    watcher.wait_for_function(f"() => {champion} === 'v1'", timeout=15000)
    assert watcher.evaluate(champion) == "v1"


def test_mlflow_run_link_lands_on_the_run_page(browser: Any, live: LiveServer) -> None:
    import mlflow
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=live.url)
    os.environ["MLFLOW_TRACKING_TOKEN"] = live.world.tokens["alice"]
    try:
        exp = client.create_experiment("ui-exp")
        run = client.create_run(exp)
        client.log_param(run.info.run_id, "lr", "0.1")
        client.log_metric(run.info.run_id, "auc", 0.93)
    finally:
        del os.environ["MLFLOW_TRACKING_TOKEN"]
    assert mlflow  # the real client made the run
    # Signed out, the link shows the sign-in form first, then lands on the run.
    page = browser.new_page()
    sign_in(page, live, "alice", start=f"/#/experiments/{exp}/runs/{run.info.run_id}")
    page.wait_for_url(f"{live.url}/experiments/{exp}/runs/{run.info.run_id}")
    assert page.get_by_role("heading", name="Params").is_visible()
    assert "0.93" in page.locator("#h-rmetrics + dl").inner_text()
    shot(page, "run")
