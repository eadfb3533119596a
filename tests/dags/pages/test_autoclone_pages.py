"""AutoClone on the pages: the dashboard's four pictures from the seed, the DAG page's AutoClone
section, Stop and Start refused on an auto clone, and the manual Clone button. The clock is
moved with time-machine; the database, the manager and the views are real."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dags import views
from dags.engine.autoclone import MISSING_FIELDS
from dags.models import Clone, Dag, DagRun
from dags.services import autoclone
from dags.services.clones import AUTO_CLONE_MANAGED, CLONE_NAME_TAKEN, clone_dag
from dags.services.runs import start_run
from dags.states import RunState
from tests.dags.pages.conftest import make_user

pytestmark = pytest.mark.django_db

ZONE = ZoneInfo(settings.TIME_ZONE)
DAY = datetime(2025, 1, 25, tzinfo=ZONE)
WINDOW = {"ramp_up_time": "0900", "ramp_down_time": "1700", "ramp_count": 5}
FIRST_CLONE = "my_dag_20250125090000"


def at(hour: int, minute: int) -> datetime:
    return DAY.replace(hour=hour, minute=minute)


def tick_at(*moments: datetime) -> None:
    for moment in moments:
        with time_machine.travel(moment, tick=False):
            autoclone.tick(now=moment)


def ramp_up(minutes: int) -> None:
    """The manager's ticks at 09:00, 09:01, ... one clone each."""
    tick_at(*(at(9, minute) for minute in range(minutes)))


@pytest.fixture
def parent(make_dag: Callable[..., Dag]) -> Dag:
    return make_dag(
        {"name": "my_dag", "nodes": [{"id": "a", "command": ["/bin/true"]}], "autoclone": WINDOW}
    )


@pytest.fixture
def plain(make_dag: Callable[..., Dag]) -> Dag:
    return make_dag({"name": "plain", "nodes": [{"id": "a", "command": ["/bin/true"]}]})


# Reading a page as a user does: the rows of the DAG table and the words on the page ------------


@dataclass
class Row:
    dag: str
    classes: set[str]
    words: list[str] = field(default_factory=list)
    controls: list[str] = field(default_factory=list)
    """The labels of the row's buttons and button links."""

    @property
    def text(self) -> str:
        return " ".join("".join(self.words).split())


BLOCKS = frozenset({"br", "div", "h1", "h2", "li", "p", "section", "td", "th", "tr"})


class PageReader(HTMLParser):
    """The visible text of a page, and each `<tr data-dag>` row's text and buttons. Block
    elements and table cells are apart on screen, so their words are kept apart here."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.words: list[str] = []
        self.rows: list[Row] = []
        self.row: Row | None = None
        self.control: list[str] | None = None
        self.hidden = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        classes = set((found.get("class") or "").split())
        self.gap(tag)
        if tag in ("script", "style"):
            self.hidden += 1
        elif tag == "tr" and "data-dag" in found:
            self.row = Row(found["data-dag"] or "", classes)
        elif self.row and (tag == "button" or (tag == "a" and "button" in classes)):
            self.control = []

    def handle_endtag(self, tag: str) -> None:
        self.gap(tag)
        if tag in ("script", "style"):
            self.hidden -= 1
        elif tag == "tr" and self.row is not None:
            self.rows.append(self.row)
            self.row = None
        elif tag in ("button", "a") and self.control is not None and self.row is not None:
            self.row.controls.append(" ".join("".join(self.control).split()))
            self.control = None

    def gap(self, tag: str) -> None:
        if tag in BLOCKS:
            self.handle_data(" ")

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        self.words.append(data)
        if self.row is not None:
            self.row.words.append(data)
        if self.control is not None:
            self.control.append(data)

    @property
    def text(self) -> str:
        return " ".join("".join(self.words).split())

    def row_of(self, dag: str) -> Row:
        return next(row for row in self.rows if row.dag == dag)


def read(client, url: str) -> PageReader:
    answer = client.get(url)
    assert answer.status_code == 200
    return PageReader(answer.content.decode())


def messages_of(answer) -> list[str]:
    return [str(message) for message in answer.context["messages"]]


def snapshot() -> list[tuple]:
    return list(Dag.objects.order_by("pk").values_list("name", "is_paused", "definition_hash"))


# The dashboard ------------------------------------------------------------------------------


def clone_names(*times: str) -> list[str]:
    return [f"my_dag_20250125{hhmm}00" for hhmm in times]


PICTURES = [
    # (ticks, parent's AutoClone cell, clones listed under it, totals line)
    ([], "✓ Enabled idle 0 clone(s)", [], "Total DAGs: 1 (parent only)"),
    (
        [at(9, 0), at(9, 1)],
        "✓ Enabled ramping_up (2/5) creating 1 clone per minute 2 clone(s)",
        clone_names("0900", "0901"),
        "Total DAGs: 3 (1 parent + 2 clones, more coming...)",
    ),
    (
        [at(9, minute) for minute in range(5)],
        "✓ Enabled active 5 clone(s)",
        clone_names("0900", "0901", "0902", "0903", "0904"),
        "Total DAGs: 6 (1 parent + 5 clones)",
    ),
    (
        [*(at(9, minute) for minute in range(5)), at(17, 0), at(17, 1)],
        "✓ Enabled ramping_down (3 remaining) deleting 1 clone per minute 3 clone(s)",
        clone_names("0902", "0903", "0904"),
        "Total DAGs: 4 (1 parent + 3 clones, decreasing...)",
    ),
]


@pytest.mark.parametrize(
    ("ticks", "cell", "clones", "totals"),
    PICTURES,
    ids=["idle", "ramping-up", "active", "ramping-down"],
)
def test_the_dashboard_draws_the_seeds_four_pictures(
    client_as, parent: Dag, ticks, cell: str, clones: list[str], totals: str
) -> None:
    tick_at(*ticks)
    page = read(client_as("operator"), "/")
    assert [row.dag for row in page.rows] == ["my_dag", *clones]  # clones right under it
    top = page.row_of("my_dag")
    assert cell in top.text
    assert top.controls == ["Details", "Trigger", "Clone", "Stop"]
    for name in clones:
        row = page.row_of(name)
        assert {"clone", "auto-clone"} <= row.classes  # drawn indented
        assert "↳ Clone of my_dag" in row.text
        assert "🤖 Auto" in row.text
        assert "Auto-managed" in row.text
        assert row.controls == ["Details", "Trigger"]  # no Stop, Start, Clone or delete
    assert totals in page.text


def test_the_dashboard_after_the_ramp_up_shows_five_auto_clones_and_six_dags(
    client_as, parent: Dag
) -> None:
    ramp_up(5)
    page = read(client_as("operator"), "/")
    assert page.text.count("↳ Clone of my_dag") == 5
    assert page.text.count("🤖 Auto") == 5
    assert sum(row.controls.count("Stop") for row in page.rows) == 1  # the parent's alone
    assert "Total DAGs: 6 (1 parent + 5 clones)" in page.text


def test_a_manual_clone_is_listed_under_its_parent_without_the_auto_badge(
    client_as, parent: Dag
) -> None:
    ramp_up(1)
    client = client_as("operator")
    with time_machine.travel(at(9, 0).replace(second=30), tick=False):
        client.post("/dags/my_dag/clone/")
    page = read(client, "/")
    manual = "my_dag_20250125090030"
    assert [row.dag for row in page.rows] == ["my_dag", FIRST_CLONE, manual]
    row = page.row_of(manual)
    assert "↳ Clone of my_dag" in row.text
    assert "manual clone" in row.text
    assert "🤖 Auto" not in row.text
    assert row.controls == ["Details", "Trigger", "Stop"]  # its owner may stop it
    assert "Total DAGs: 3 (1 parent + 2 clones, more coming...)" in page.text


def test_a_disabled_section_shows_its_badge_and_reason_on_the_dashboard(
    client_as, make_dag: Callable[..., Dag]
) -> None:
    make_dag({"name": "half", "nodes": [{"id": "a", "command": ["/bin/true"]}],
              "autoclone": {"ramp_up_time": "0900", "ramp_down_time": "1700"}})  # fmt: skip
    cell = read(client_as("viewer"), "/").row_of("half").text
    assert "Disabled idle the 'autoclone' section lacks ramp_count 0 clone(s)" in cell


def dashboard_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200
    return len(queries.captured_queries)


def test_the_dashboard_costs_the_same_queries_for_2_or_20_clones(
    client_as, make_dag: Callable[..., Dag], plain: Dag
) -> None:
    make_dag({"name": "my_dag", "nodes": [{"id": "a", "command": ["/bin/true"]}],
              "autoclone": {**WINDOW, "ramp_count": 20}})  # fmt: skip
    client = client_as("viewer")
    clone_dag(dag=plain, by="tester")  # a manual clone in both counts
    ramp_up(2)
    few = dashboard_queries(client)
    assert read(client, "/").text.count("↳ Clone of") == 3
    tick_at(*(at(9, minute) for minute in range(2, 20)))
    many = dashboard_queries(client)
    page = read(client, "/")
    assert page.text.count("↳ Clone of my_dag") == 20
    assert "Total DAGs: 23 (2 parents + 21 clones)" in page.text
    assert many == few


# The DAG page -------------------------------------------------------------------------------


def test_the_dag_page_shows_the_parents_window_state_and_clones(client_as, parent: Dag) -> None:
    ramp_up(2)
    page = read(client_as("viewer"), "/dags/my_dag/")
    assert "AutoClone ✓ Enabled" in page.text
    assert "Ramp up from 09:00, one clone a minute" in page.text
    assert "Ramp down from 17:00, one clone a minute, oldest first" in page.text
    assert f"Clones at peak 5 (times in {settings.TIME_ZONE})" in page.text
    assert "State ramping_up (2/5)" in page.text
    html = client_as("viewer").get("/dags/my_dag/").content.decode()
    for name in clone_names("0900", "0901"):
        assert f'<a href="/dags/{name}/">{name}</a>' in html
    assert "my_dag_20250125090000 🤖 Auto made 2025-01-25 09:00" in page.text


def test_the_dag_page_shows_why_a_section_is_disabled(
    client_as, make_dag: Callable[..., Dag]
) -> None:
    make_dag({"name": "half", "nodes": [{"id": "a", "command": ["/bin/true"]}],
              "autoclone": {"ramp_up_time": "0900", "ramp_down_time": "1700"}})  # fmt: skip
    page = read(client_as("viewer"), "/dags/half/")
    reason = MISSING_FIELDS.format(fields="ramp_count")
    assert f"AutoClone Disabled {reason}" in page.text
    assert "Section ramp_up_time: 0900 ramp_down_time: 1700" in page.text
    assert "Clones none" in page.text


def test_the_dag_page_of_a_stopped_parent_says_autoclone_is_off_while_stopped(
    client_as, parent: Dag
) -> None:
    client_as("operator").post("/dags/my_dag/stop/")
    page = read(client_as("viewer"), "/dags/my_dag/")
    assert f"AutoClone Disabled {autoclone.PARENT_STOPPED}" in page.text


def test_the_page_of_an_auto_clone_links_its_parent_and_offers_no_stop(
    client_as, parent: Dag
) -> None:
    ramp_up(1)
    client = client_as("operator")
    html = client.get(f"/dags/{FIRST_CLONE}/").content.decode()
    page = PageReader(html)
    assert "Clone of my_dag 🤖 Auto" in page.text
    assert '<a href="/dags/my_dag/">my_dag</a>' in html
    assert "AutoClone made this clone and manages it" in page.text
    assert "Auto-managed" in page.text
    for refused in (">Stop<", ">Start<", ">Clone</button>"):
        assert refused not in html
    assert ">Trigger</button>" in html  # triggering a run of a clone is fine


# Stop and Start refused on an auto clone ----------------------------------------------------


@pytest.mark.parametrize(
    ("method", "action", "data", "word"),
    [
        ("post", "stop", {"cancel_active": "yes", "next": "/"}, "stopped"),
        ("post", "start", {"next": "/"}, "started"),
        ("get", "stop", {"next": "/"}, "stopped"),
    ],
)
def test_stop_and_start_on_an_auto_clone_are_refused_and_change_nothing(
    client_as, parent: Dag, method: str, action: str, data: dict, word: str
) -> None:
    ramp_up(1)
    clone = Dag.objects.get(name=FIRST_CLONE)
    run = start_run(dag=clone, triggered_by="tester")
    before = snapshot(), list(DagRun.objects.values_list("pk", "state"))
    client = client_as("operator")
    refused = getattr(client, method)(f"/dags/{FIRST_CLONE}/{action}/", data)
    assert refused.status_code == 302
    assert refused["Location"] == "/"
    page = client.get("/")
    text = AUTO_CLONE_MANAGED.format(name=FIRST_CLONE, parent="my_dag", action=word)
    assert messages_of(page) == [text]
    assert text in PageReader(page.content.decode()).text
    assert (snapshot(), list(DagRun.objects.values_list("pk", "state"))) == before
    run.refresh_from_db()
    assert run.state == RunState.RUNNING


def test_a_manual_clone_can_be_stopped_like_any_dag(client_as, plain: Dag) -> None:
    client = client_as("operator")
    opened = client.post("/dags/plain/clone/", follow=True)
    clone = Dag.objects.get(clone_link__parent=plain)
    answer = client.post(f"/dags/{clone.name}/stop/", follow=True)
    assert messages_of(answer) == [views.STOPPED.format(dag=clone.name)]
    assert Dag.objects.get(pk=clone.pk).is_paused
    assert opened.status_code == 200


# The Clone button ----------------------------------------------------------------------------


def test_the_clone_button_makes_an_ordinary_clone_and_opens_its_page(client_as, plain: Dag) -> None:
    client = client_as("operator")
    moment = DAY.replace(hour=8, minute=15, second=7)
    with time_machine.travel(moment, tick=False):
        answer = client.post("/dags/plain/clone/", {"next": "/dags/plain/"}, follow=True)
    name = "plain_20250125081507"
    assert answer.redirect_chain == [(f"/dags/{name}/", 302)]
    assert messages_of(answer) == [views.CLONED.format(dag="plain", clone=name)]
    page = PageReader(answer.content.decode())
    assert "Clone of plain" in page.text
    assert "🤖 Auto" not in page.text
    assert "An ordinary clone: yours to stop, start, edit or delete." in page.text
    link = Clone.objects.get(dag__name=name)
    assert (link.parent, link.is_auto_clone, link.created_by) == (plain, False, "operator-user")
    assert not Dag.objects.get(name=name).is_paused
    listed = read(client, "/dags/plain/")
    assert f"Clones {name} manual" in listed.text


def test_a_second_clone_in_the_same_second_is_refused_with_its_message(
    client_as, plain: Dag
) -> None:
    client = client_as("operator")
    moment = DAY.replace(hour=8, minute=15, second=7)
    with time_machine.travel(moment, tick=False):
        client.post("/dags/plain/clone/", follow=True)
        before = snapshot()
        answer = client.post("/dags/plain/clone/", {"next": "/dags/plain/"}, follow=True)
    assert answer.redirect_chain == [("/dags/plain/", 302)]
    assert messages_of(answer) == [CLONE_NAME_TAKEN.format(name="plain_20250125081507")]
    assert snapshot() == before


def test_cloning_a_clone_clones_its_parent(client_as, parent: Dag) -> None:
    ramp_up(1)
    with time_machine.travel(at(9, 0).replace(second=40), tick=False):
        client_as("admin").post(f"/dags/{FIRST_CLONE}/clone/")
    made = Dag.objects.get(name="my_dag_20250125090040")
    assert made.clone_link.parent == parent
    assert "autoclone" not in made.definition  # a clone never clones itself


@pytest.mark.parametrize(
    ("role", "expected"),
    [(None, 302), ("nobody", 403), ("viewer", 403), ("operator", 302), ("admin", 302)],
)
def test_only_operators_and_admins_may_clone(client_as, plain: Dag, role, expected) -> None:
    may_clone = role in ("operator", "admin")
    answer = client_as(role).post("/dags/plain/clone/")
    assert answer.status_code == expected
    assert Dag.objects.filter(clone_link__parent=plain).count() == (1 if may_clone else 0)
    if role in ("viewer", "operator", "admin"):
        for url in ("/", "/dags/plain/"):
            html = client_as(role).get(url).content.decode()
            assert (">Clone</button>" in html) == may_clone, url


def test_the_admin_offers_its_clone_action_only_to_roles_that_may_clone(
    admin_client: Client, plain: Dag
) -> None:
    viewer = make_user("staff-viewer", "viewer", staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_dag"))
    client = Client()
    client.force_login(viewer)
    page = client.get("/admin/dags/dag/")
    assert page.status_code == 200
    assert "clone_dags" not in page.content.decode()
    refused = client.post("/admin/dags/dag/", {"action": "clone_dags",
                                               "_selected_action": [plain.pk]})  # fmt: skip
    assert refused.status_code in (200, 302)
    assert not Dag.objects.filter(clone_link__parent=plain).exists()
    assert "clone_dags" in admin_client.get("/admin/dags/dag/").content.decode()
