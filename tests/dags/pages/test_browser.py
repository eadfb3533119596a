"""The pages in a real browser: log in, trigger a DAG and watch its nodes turn green without a
reload, open a node's log, cancel a long run. Headless Debian Chromium, a live server and the
session's real Celery worker."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from dags.models import DagRun
from dags.services import autoclone
from dags.states import RunState
from tests.dags.pages.conftest import CHROMIUM, PASSWORD, make_user

pytestmark = [
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)",
    ),
    pytest.mark.django_db(transaction=True),
]

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
SUCCEEDED_GREEN = "rgb(43,138,62)"
CANCELLED_GREY = "rgb(134,142,150)"
STATES = "() => Object.fromEntries(window.dagyardGraph.nodes().map(n => [n.id(), n.data('state')]))"


def sh(script: str) -> list[str]:
    return ["/bin/sh", "-c", script]


def log_in(page: Page, base_url: str, name: str) -> None:
    page.goto(f"{base_url}/")
    expect(page).to_have_url(f"{base_url}/accounts/login/?next=/")
    page.fill("#id_username", name)
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Log in')")
    expect(page.locator("h1")).to_have_text("DAG dashboard")


def node_colour(page: Page, node: str) -> str:
    return page.evaluate(
        "node => window.dagyardGraph.getElementById(node).style('background-color')", node
    ).replace(" ", "")


def click_node(page: Page, node: str) -> None:
    """A real mouse click where Cytoscape drew the node."""
    box = page.locator("#graph").bounding_box()
    x, y = page.evaluate(
        "node => { const p = window.dagyardGraph.getElementById(node).renderedPosition();"
        " return [p.x, p.y]; }",
        node,
    )
    page.mouse.click(box["x"] + x, box["y"] + y)


def test_a_triggered_run_turns_green_live_and_shows_a_node_log(
    celery_worker, live_server, page: Page, make_dag, tmp_path: Path
):
    gate = tmp_path / "go"  # the first node waits for it, so the page sees the run unfinished
    make_dag({"name": "pipeline", "description": "Fan out, fan in.", "nodes": [
        {"id": "extract",
         "command": sh(f"while [ ! -e {gate} ]; do sleep 0.05; done; echo hello from extract")},
        {"id": "clean", "command": sh("sleep 0.3"), "in": ["extract"]},
        {"id": "enrich", "command": sh("echo enriching; sleep 0.4"), "in": ["extract"]},
        {"id": "load", "command": sh("echo loaded 42 rows"), "in": ["clean", "enrich"]},
    ]})  # fmt: skip
    make_user("olga", "operator", password=PASSWORD)
    log_in(page, live_server.url, "olga")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    page.click("tr[data-dag='pipeline'] button:has-text('Trigger')")
    run = DagRun.objects.get()
    expect(page).to_have_url(f"{live_server.url}/runs/{run.pk}/")
    page.wait_for_function("window.dagyardGraphReadyAt !== undefined")
    first_seen = page.evaluate(STATES)
    assert first_seen["extract"] in {"queued", "running"}
    assert first_seen["load"] == "pending"
    page.evaluate("window.sameDocument = true")
    gate.touch()

    page.wait_for_function(
        "window.dagyardGraph.nodes().every(n => n.data('state') === 'succeeded')", timeout=30_000
    )
    assert page.evaluate("window.sameDocument") is True  # no reload happened
    assert {node_colour(page, node) for node in first_seen} == {SUCCEEDED_GREEN}
    expect(page.locator("#run-state")).to_have_text("Succeeded")
    expect(page.locator("#cancel-form")).to_be_hidden()
    expect(page.locator("#retry-form")).to_be_hidden()
    expect(page.locator("#timeline .tl-row[data-node]")).to_have_count(4)
    expect(page.locator("#events")).to_contain_text("Run succeeded in")
    expect(page.locator("#events")).to_contain_text("Attempt 1 succeeded in")  # full log at the end

    click_node(page, "extract")
    panel = page.locator("#node-panel")
    expect(panel).to_contain_text("Attempt 1: succeeded")
    expect(panel.locator("pre.output")).to_have_text("hello from extract\n")
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.screenshot(path=str(ARTIFACTS / "run-page.png"), full_page=True)

    page.click("nav >> text=Runs")
    expect(page.locator("table.runs tbody tr")).to_have_count(1)
    expect(page.locator("table.runs")).to_contain_text("Succeeded")
    page.screenshot(path=str(ARTIFACTS / "runs.png"), full_page=True)
    page.click("nav >> text=Workers")
    expect(page.locator(f"tr[data-worker='{celery_worker.hostname}']")).to_contain_text("dags")
    page.screenshot(path=str(ARTIFACTS / "workers.png"), full_page=True)


def test_a_long_run_is_cancelled_from_its_page(celery_worker, live_server, page: Page, make_dag):
    make_dag({"name": "long", "nodes": [
        {"id": "sleeper", "command": sh("sleep 30")},
        {"id": "after", "command": ["/bin/true"], "in": ["sleeper"]},
    ]})  # fmt: skip
    make_user("oscar", "operator", password=PASSWORD)
    log_in(page, live_server.url, "oscar")

    page.goto(f"{live_server.url}/dags/long/")
    page.wait_for_function("window.dagyardGraphReadyAt !== undefined")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dag-page.png"), full_page=True)
    page.fill("textarea[name=params]", "REASON=browser test")
    page.click("form button:has-text('Trigger')")
    run = DagRun.objects.get()
    assert run.params == {"REASON": "browser test"}
    page.wait_for_function(
        "window.dagyardGraph && window.dagyardGraph.getElementById('sleeper').data('state')"
        " === 'running'",
        timeout=30_000,
    )
    expect(page.locator("#retry-form")).to_be_hidden()
    page.screenshot(path=str(ARTIFACTS / "run-page-running.png"), full_page=True)

    page.click("#cancel-form button")
    expect(page.locator(".messages")).to_contain_text(f"Run {run.pk} cancelled.")
    expect(page.locator("#run-state")).to_have_text("Cancelled")
    page.wait_for_function("window.dagyardGraphReadyAt !== undefined")
    assert node_colour(page, "sleeper") == CANCELLED_GREY
    assert node_colour(page, "after") == CANCELLED_GREY
    expect(page.locator("#cancel-form")).to_be_hidden()
    expect(page.locator("#retry-form")).to_be_visible()
    run.refresh_from_db()
    assert run.state == RunState.CANCELLED


def test_a_large_dag_is_drawn_layered_with_every_edge(live_server, page: Page, make_dag):
    """Past the dagre limit the page lays the graph out itself and draws edges under the nodes."""
    make_dag({"name": "wide", "nodes": [
        {"id": f"n{i:03d}", "command": ["/bin/true"],
         "in": [f"n{i - 20:03d}"] + ([f"n{i - 21:03d}"] if i % 20 else []) if i >= 20 else []}
        for i in range(400)
    ]})  # fmt: skip
    make_user("vera", "viewer", password=PASSWORD)
    log_in(page, live_server.url, "vera")
    page.goto(f"{live_server.url}/dags/wide/")
    page.wait_for_function("window.dagyardGraphReadyAt !== undefined")
    assert page.evaluate("window.dagyardGraph.nodes().length") == 400
    assert page.locator("#graph").get_attribute("data-edges") == str(380 + 361)
    columns = page.evaluate(
        "new Set(window.dagyardGraph.nodes().map(n => Math.round(n.position('x')))).size"
    )
    assert columns == 20  # one column per layer, left to right
    assert page.locator("form button:has-text('Trigger')").count() == 0  # a viewer


def test_the_dashboard_shows_auto_clones_indented_under_their_parent(
    live_server, page: Page, make_dag
):
    window = {"ramp_up_time": "0900", "ramp_down_time": "1700", "ramp_count": 5}
    make_dag(
        {"name": "my_dag", "nodes": [{"id": "a", "command": ["/bin/true"]}], "autoclone": window}
    )
    nine = datetime(2025, 1, 25, 9, 0, tzinfo=ZoneInfo(settings.TIME_ZONE))
    for minute in range(2):
        autoclone.tick(now=nine.replace(minute=minute))
    make_user("vic", "operator", password=PASSWORD)
    log_in(page, live_server.url, "vic")
    rows = page.locator("table.dags tbody tr")
    expect(rows).to_have_count(3)
    assert [rows.nth(i).get_attribute("data-dag") for i in range(3)] == [
        "my_dag", "my_dag_20250125090000", "my_dag_20250125090100"
    ]  # fmt: skip
    expect(rows.nth(0).locator("td.autoclone")).to_contain_text("ramping_up (2/5)")
    for i in (1, 2):
        expect(rows.nth(i)).to_contain_text("↳ Clone of my_dag")
        expect(rows.nth(i).locator(".autoclone-auto")).to_be_visible()
        expect(rows.nth(i).locator("button:has-text('Stop')")).to_have_count(0)

    def name_left(row: int) -> float:
        return rows.nth(row).locator("a.name").bounding_box()["x"]

    assert name_left(1) > name_left(0) + 10  # indented under the parent
    expect(page.locator("tfoot")).to_contain_text("Total DAGs: 3 (1 parent + 2 clones")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-autoclone.png"), full_page=True)
