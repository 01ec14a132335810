"""The home page's sections from the feature packages (adoption/home.py): the registry, their
order and place on each role's page, and honest empty states."""
from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from jinja2 import ChoiceLoader, DictLoader

from adoption import create_app
from adoption.home import HomeSection, home_sections, register_home_section
from adoption.scope import scope_for
from surveys.home import register as register_surveys
from tests.factories import make_employee, make_user

TODAY = dt.date(2025, 3, 10)
NORTH = "Acme/EMEA/Sales North"
#: A template of the tests' own: draws what its section's build returned.
PROBE = "tests/home_probe.html"
#: The wording the home page used before the features existed, on every role's page.
STALE = "not available in Uptake yet"


def home_section(html: str, testid: str) -> str | None:
    """The HTML of the element marked ``data-testid=testid``, from its tag to the first closing tag
    of its kind (None when the page has none)."""
    marker = html.find(f'data-testid="{testid}"')
    if marker < 0:
        return None
    start = html.rfind("<", 0, marker)
    tag = html[start + 1:marker].split()[0]
    return html[start:html.index(f"</{tag}>", marker) + len(tag) + 3]


def _section(name: str, build, place: str = "yours", order: int = 100, template: str = PROBE) -> HomeSection:
    return HomeSection(name, template, build, place, order)


def _names(placed) -> list[str]:
    return [section.name for section, _built in placed]


@pytest.fixture
def scope(db):
    """An employee's scope (the test sections below do not read it)."""
    return scope_for(make_user("employee", make_employee(NORTH)))


@pytest.fixture
def probe(app):
    """Let the app draw ``PROBE``: a section saying what its build returned."""
    app.jinja_env.loader = ChoiceLoader([
        DictLoader({PROBE: '<section data-testid="probe-{{ section }}">Probe {{ section }}</section>'}),
        app.jinja_env.loader,
    ])


# ---------------------------------------------------------------- the registry


def test_a_section_whose_build_returns_none_is_left_out(scope):
    app = Flask(__name__)
    register_home_section(app, _section("silent", lambda s, d: None))
    register_home_section(app, _section("speaks", lambda s, d: "hello"))
    placed = home_sections(app, scope, TODAY)
    assert _names(placed["yours"]) == ["speaks"]
    assert placed["leading"] == []


def test_sections_come_in_their_order_then_by_name(scope):
    app = Flask(__name__)
    for name, order in [("c", 30), ("b", 10), ("z", 20), ("a", 20)]:
        register_home_section(app, _section(name, lambda s, d: 1, order=order))
    assert _names(home_sections(app, scope, TODAY)["yours"]) == ["b", "a", "z", "c"]


def test_sections_are_placed_by_their_place_with_what_they_built(scope):
    app = Flask(__name__)
    register_home_section(app, _section("mine", lambda s, d: "todo"))
    register_home_section(app, _section("lead", lambda s, d: "figures", place="leading"))
    placed = home_sections(app, scope, TODAY)
    assert [(s.name, built) for s, built in placed["yours"]] == [("mine", "todo")]
    assert [(s.name, built) for s, built in placed["leading"]] == [("lead", "figures")]


def test_build_gets_the_users_scope_and_the_day(scope):
    app = Flask(__name__)
    seen = []
    register_home_section(app, _section("spy", lambda s, d: seen.append((s, d))))
    home_sections(app, scope, TODAY)
    assert seen == [(scope, TODAY)]


def test_registering_a_name_twice_keeps_one_section_the_last(scope):
    app = Flask(__name__)
    register_home_section(app, _section("twice", lambda s, d: "first", order=1))
    register_home_section(app, _section("twice", lambda s, d: "second", order=2))
    [(section, built)] = home_sections(app, scope, TODAY)["yours"]
    assert (section.order, built) == (2, "second")


def test_an_app_without_sections_builds_none(scope):
    assert home_sections(Flask(__name__), scope, TODAY) == {"yours": [], "leading": []}


def test_the_app_registers_the_surveys_and_training_sections(app):
    sections = app.extensions["uptake_home_sections"]
    assert {"my-surveys", "replies-owed", "my-training"} <= set(sections)
    assert (sections["my-surveys"].place, sections["replies-owed"].place, sections["my-training"].place) == (
        "yours", "leading", "yours")


def test_a_second_app_gets_sections_of_its_own(app, tmp_path):
    other = create_app({"ENV": "testing", "INSTANCE_PATH": str(tmp_path / "other"),
                        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"]})
    mine, theirs = app.extensions["uptake_home_sections"], other.extensions["uptake_home_sections"]
    assert set(mine) == set(theirs) and mine is not theirs
    register_home_section(other, _section("only-there", lambda s, d: 1))
    assert "only-there" not in mine


# ---------------------------------------------------------------- on the page


def test_a_section_with_nothing_to_say_is_not_drawn(app, client, login_as, probe):
    register_home_section(app, _section("silent", lambda s, d: None))
    register_home_section(app, _section("speaks", lambda s, d: "hello"))
    login_as("employee")
    html = client.get("/").get_data(as_text=True)
    assert 'data-testid="probe-hello"' in html
    assert 'data-testid="probe-None"' not in html and "Probe None" not in html


def test_a_section_is_drawn_in_its_order_among_the_others(app, client, login_as, probe):
    register_home_section(app, _section("between", lambda s, d: "between", order=15))
    login_as("employee")
    html = client.get("/").get_data(as_text=True)
    positions = [html.index(f'data-testid="{t}"') for t in ("home-my-surveys", "probe-between", "home-my-training")]
    assert positions == sorted(positions)


def test_registering_the_surveys_again_draws_them_once(app, client, login_as):
    register_surveys(app)
    login_as("employee")
    html = client.get("/").get_data(as_text=True)
    assert html.count('data-testid="home-my-surveys"') == 1


def test_an_employees_sections_are_in_the_right_column_after_their_record(client, login_as):
    login_as("employee")
    html = client.get("/").get_data(as_text=True)
    record, yours = html.index('id="my-record"'), html.index('data-testid="home-yours"')
    assert record < yours < html.index('data-testid="home-my-surveys"') < html.index('data-testid="home-my-training"')
    assert "For you" not in html


@pytest.mark.parametrize(("role", "own_figures"), [
    ("manager", 'id="team-figures"'),
    ("change_leader", 'id="org-figures"'),
])
def test_a_leaders_leading_sections_come_before_the_roles_own_figures(client, login_as, role, own_figures):
    login_as(role)
    html = client.get("/").get_data(as_text=True)
    leading = html.index('data-testid="home-leading"')
    assert leading < html.index('data-testid="home-replies-owed"') < html.index(own_figures)


@pytest.mark.parametrize(("role", "own_figures"), [
    ("manager", 'id="team-figures"'),
    ("change_leader", 'id="org-figures"'),
    ("executive", 'id="org-figures"'),
])
def test_a_non_employees_own_sections_come_under_for_you_after_the_roles_figures(client, login_as, role, own_figures):
    login_as(role)
    html = client.get("/").get_data(as_text=True)
    heading = html.index(">For you</h2>")
    assert html.index(own_figures) < heading < html.index('data-testid="home-yours"')
    yours = html[heading:]
    assert 'data-testid="home-my-surveys"' in yours and 'data-testid="home-my-training"' in yours


@pytest.mark.parametrize(("role", "level"), [("employee", "h2"), ("manager", "h3")])
def test_the_own_sections_headings_sit_under_for_you_on_a_leaders_page(client, login_as, role, level):
    login_as(role)
    html = client.get("/").get_data(as_text=True)
    assert f'<{level} class="h5" id="home-my-surveys">Pulse surveys</{level}>' in html
    assert f'<{level} class="h5" id="home-my-training">Training</{level}>' in html


def test_a_leading_section_is_drawn_on_a_leaders_page_before_their_own(app, client, login_as, probe):
    register_home_section(app, _section("lead", lambda s, d: "lead", place="leading", order=1))
    login_as("manager")
    html = client.get("/").get_data(as_text=True)
    assert html.index('data-testid="probe-lead"') < html.index('id="team-figures"') < html.index(">For you</h2>")


def test_an_admin_without_a_roster_record_has_no_for_you(client, login_as):
    login_as("admin")
    html = client.get("/").get_data(as_text=True)
    assert "For you" not in html and 'data-testid="home-yours"' not in html


# ---------------------------------------------------------------- honest empty states


def test_an_employee_with_nothing_waiting_is_told_so_per_feature(client, login_as):
    login_as("employee")
    html = client.get("/").get_data(as_text=True)
    assert "No pulse survey waits for your answer today." in home_section(html, "home-my-surveys")
    assert "No training module waits for you." in home_section(html, "home-my-training")
    assert 'data-testid="home-unread-conversations"' not in html
    assert 'data-testid="home-follow-ups-due"' not in html


def test_an_employee_without_a_roster_record_is_told_nothing_waits(client, db):
    user = make_user("employee")
    db.session.commit()
    client.post("/login", data={"email": user.email, "password": "correct horse battery"})
    html = client.get("/").get_data(as_text=True)
    assert "not linked to anyone on the HR roster" in html
    assert "No pulse survey, training or conversation needs you today." in html
    assert 'data-testid="home-my-surveys"' not in html and 'data-testid="home-my-training"' not in html


@pytest.mark.parametrize("role", ["employee", "manager", "change_leader", "executive", "admin"])
def test_no_home_page_says_a_feature_is_not_available_yet(client, login_as, role):
    login_as(role)
    response = client.get("/")
    assert response.status_code == 200
    assert STALE not in response.get_data(as_text=True)
