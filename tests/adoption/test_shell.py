"""The web shell: navigation by role, each role's home page and its scope, error pages, assets."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from html.parser import HTMLParser
from itertools import groupby
from pathlib import Path

import pytest
from flask import abort

from adoption import PROJECT_ROOT
from adoption.accounts import LoginPolicy, authenticate
from adoption.home import home_summary
from adoption.models import Initiative, Role, RosterImport
from adoption.org import end_membership
from adoption.scope import Scope, scope_for
from adoption.timekeeping import org_today, utcnow
from adoption.views.shell import NAVIGATION
from tests.factories import make_employee, make_user

TEMPLATE_DIRS = [
    PROJECT_ROOT / pkg / "templates" for pkg in ("adoption", "surveys", "training", "dashboards")
]
NORTH = "Acme/EMEA/Sales North"
SOUTH = "Acme/EMEA/Sales South"
# Everyone seeded below except the signed-in user: none of these may reach an executive's page.
OTHERS = [
    "Nora Licensed",
    "Ned Nolicence",
    "Jill Joiner",
    "Leo Leaver",
    "Sam Southnolicence",
    "Sue Southjoiner",
    "Old Timer",
]


def _today(app) -> dt.date:
    """The date the home view uses."""
    return org_today(app.config["ORG_TIMEZONE"])


def _seed_org(db, today: dt.date) -> dict:
    """Two teams with licensed, unlicensed, new, leaving and long-gone people, and an initiative."""
    long_ago = today - dt.timedelta(days=400)
    people = {
        "nora": make_employee(
            NORTH, since=long_ago, full_name="Nora Licensed", crm_user_id="crm-nora"
        ),
        "ned": make_employee(NORTH, since=long_ago, full_name="Ned Nolicence"),
        "jill": make_employee(
            NORTH,
            since=today - dt.timedelta(days=10),
            full_name="Jill Joiner",
            crm_username="jill@crm.example",
        ),
        "leo": make_employee(NORTH, since=long_ago, full_name="Leo Leaver", crm_user_id="crm-leo"),
        "old": make_employee(NORTH, since=long_ago, full_name="Old Timer"),
        "sam": make_employee(SOUTH, since=long_ago, full_name="Sam Southnolicence"),
        "sue": make_employee(
            SOUTH,
            since=today - dt.timedelta(days=3),
            full_name="Sue Southjoiner",
            crm_user_id="crm-sue",
        ),
        "vic": make_employee(
            "Acme",
            since=long_ago,
            full_name="Victoria Sponsor",
            is_executive=True,
            crm_user_id="crm-vic",
        ),
    }
    _leave(people["leo"], today - dt.timedelta(days=5))
    _leave(people["old"], today - dt.timedelta(days=90))
    initiative = Initiative(
        name="CRM rollout 2025",
        start_date=today - dt.timedelta(days=60),
        licensed_seats=40,
        adoption_target_pct=75,
        key_behaviours=["activity_logged"],
    )
    initiative.sponsors.append(people["vic"])
    db.session.add(initiative)
    db.session.flush()
    return people


def _leave(employee, day: dt.date) -> None:
    """Make ``employee`` a leaver on ``day``, as a roster import would."""
    employee.active = False
    employee.end_date = day
    end_membership(employee, day)


def _nav_labels(html: str) -> list[str]:
    """Labels of the main navigation's links and menus, in order; a menu's entries follow it as
    "Menu > Entry"."""
    nav = html.split('id="mainnav"', 1)[1].split('data-testid="signed-in-as"', 1)[0]
    labels, menu = [], None
    for kind, label in re.findall(r'class="(nav-link dropdown-toggle|nav-link|dropdown-item)[^"]*"[^>]*>([^<]+)<', nav):
        label = re.sub(r"\s+", " ", label).strip()
        if kind == "nav-link dropdown-toggle":
            menu = label
            labels.append(label + " >")
        else:
            labels.append(f"{menu} > {label}" if kind == "dropdown-item" else label)
    return labels


def _names_in(value) -> str:
    """Every string inside a (nested) dataclass, joined, to search for leaked names."""
    if dataclasses.is_dataclass(value):
        return " ".join(_names_in(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, dict):
        return " ".join(_names_in(k) + " " + _names_in(v) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return " ".join(_names_in(v) for v in value)
    return str(value)


# ---------------------------------------------------------------- navigation


def test_admin_navigation_puts_the_program_and_the_administration_in_two_menus(client, login_as):
    login_as("admin")
    labels = _nav_labels(client.get("/").get_data(as_text=True))
    # Not "My surveys": pulses go to people on the roster, and this admin account is not one.
    assert labels == ["Home", "Dashboards",
                      "Program >", "Program > Hypotheses", "Program > Sponsor log", "Program > Surveys",
                      "Program > Training modules", "Program > Training assignments", "Program > Event imports",
                      "Admin >", "Admin > Roster import", "Admin > Users",
                      "Admin > API tokens", "Admin > Access log", "Admin > Sign-ins",
                      "Admin > Unmatched CRM users", "Admin > Outbox",
                      "Admin > Personal data", "Admin > Settings"]


def test_each_menus_entries_stand_together_in_the_navigation():
    """The bar makes one menu of each run of a group's entries: a group split in two would be two menus."""
    runs = [group for group, _entries in groupby(item.group for item in NAVIGATION) if group]
    assert runs and len(runs) == len(set(runs)), runs


def test_employee_navigation_has_no_dashboards_and_no_admin(client, login_as):
    login_as("employee")
    labels = _nav_labels(client.get("/").get_data(as_text=True))
    assert labels == ["Home", "My surveys", "My training", "My conversations", "You said, we did"]


def test_managers_get_dashboards_conversations_and_action_plans_but_not_admin_entries(client, login_as):
    login_as("manager")
    labels = _nav_labels(client.get("/").get_data(as_text=True))
    # One entry of the program's menu is no menu: it stays in the bar.
    assert labels == ["Home", "My surveys", "My training", "My conversations", "You said, we did", "Dashboards",
                      "Conversations", "Action plans", "Training assignments"]


def test_executives_get_dashboards_but_not_conversations_or_admin_entries(client, login_as):
    login_as("executive")
    labels = _nav_labels(client.get("/").get_data(as_text=True))
    assert labels == ["Home", "My surveys", "My training", "My conversations", "You said, we did", "Dashboards",
                      "Hypotheses", "Sponsor log"]


def test_change_leader_gets_dashboards_and_the_program_menu_but_not_admin_entries(client, login_as):
    login_as("change_leader")
    labels = _nav_labels(client.get("/").get_data(as_text=True))
    assert labels == ["Home", "My surveys", "My training", "My conversations", "You said, we did", "Dashboards",
                      "Conversations", "Action plans",
                      "Program >", "Program > Hypotheses", "Program > Sponsor log", "Program > Surveys",
                      "Program > Training modules", "Program > Training assignments", "Program > Event imports"]


def test_current_page_is_marked_in_navigation_and_its_menu_too(client, login_as):
    login_as("admin")
    html = client.get("/admin/users").get_data(as_text=True)
    assert re.search(r'href="/admin/users" aria-current="page">Users<', html)
    assert 'href="/" aria-current' not in html
    assert re.search(r'class="nav-link dropdown-toggle active"[^>]*>Admin<', html)
    assert not re.search(r'class="nav-link dropdown-toggle active"[^>]*>Program<', html)


def test_only_the_deepest_matching_entry_is_marked_current(client, login_as):
    login_as("manager")
    html = client.get("/surveys/actions/").get_data(as_text=True)
    assert re.search(r'href="/surveys/actions/" aria-current="page">Action plans<', html)
    assert html.count('aria-current="page"') == 1  # not "My surveys" (/surveys/) as well


def test_signed_out_visitor_gets_no_navigation_and_home_redirects_to_login(client):
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert 'id="mainnav"' not in client.get("/login").get_data(as_text=True)


# ---------------------------------------------------------------- home pages


def test_employee_home_shows_own_record_and_honest_empty_states(app, client, db, login_as):
    boss = make_employee(NORTH, full_name="Bea Boss")
    me = make_employee(NORTH, full_name="Eve Employee", manager=boss)
    _seed_org(db, _today(app))
    login_as("employee", employee=me)
    html = client.get("/").get_data(as_text=True)
    assert "Eve Employee" in html and NORTH in html and "Bea Boss" in html
    assert "No CRM licence yet" in html
    assert "No pulse survey waits for your answer today." in html
    assert "No training module waits for you." in html
    assert "not available in Uptake yet" not in html
    for name in OTHERS:
        assert name not in html


def test_employee_without_roster_record_is_told_so(client, db, login_as):
    user = make_user("employee")
    db.session.commit()
    client.post("/login", data={"email": user.email, "password": "correct horse battery"})
    html = client.get("/").get_data(as_text=True)
    assert "not linked to anyone on the HR roster" in html


def test_manager_home_lists_own_team_needing_attention(app, client, db, login_as):
    people = _seed_org(db, _today(app))
    login_as("manager", unit=NORTH)
    html = client.get("/").get_data(as_text=True)
    assert "Ned Nolicence" in html  # no licence
    assert "Jill Joiner" in html  # joined 10 days ago
    assert "Leo Leaver" in html  # left 5 days ago
    assert "Old Timer" not in html  # left 90 days ago: no longer news
    assert (
        people["nora"].full_name
        not in html.split("Without a CRM licence", 1)[1].split("New joiners", 1)[0]
    )


def test_manager_home_does_not_show_another_teams_people(app, client, db, login_as):
    _seed_org(db, _today(app))
    login_as("manager", unit=NORTH)
    html = client.get("/").get_data(as_text=True)
    assert "Sam Southnolicence" not in html and "Sue Southjoiner" not in html
    assert SOUTH not in html and "Victoria Sponsor" not in html


def test_manager_summary_counts_people_on_the_given_day(app, db):
    today = dt.date(2025, 6, 15)
    _seed_org(db, today)
    manager = make_employee(
        NORTH, since=dt.date(2020, 1, 1), full_name="Mia Manager", crm_user_id="crm-mia"
    )
    scope = scope_for(make_user("manager", manager))
    [team] = home_summary(scope, today).teams
    # Nora, Ned, Jill, Mia are members today; Leo and Old have left.
    assert (team.unit_path, team.headcount, team.licensed) == (NORTH, 4, 3)
    assert [p.full_name for p in team.without_licence] == ["Ned Nolicence"]
    assert [(p.full_name, p.on) for p in team.joiners] == [
        ("Jill Joiner", today - dt.timedelta(days=10))
    ]
    assert [(p.full_name, p.on) for p in team.leavers] == [
        ("Leo Leaver", today - dt.timedelta(days=5))
    ]
    # A day taken from the argument, not the clock: 20 days later Leo has still left within 30 days,
    # 40 days later Jill is no longer new.
    later = home_summary(scope, today + dt.timedelta(days=40)).teams[0]
    assert later.joiners == [] and later.leavers == []


def test_manager_of_a_region_sees_each_team_in_the_region(db):
    today = dt.date(2025, 6, 15)
    _seed_org(db, today)
    regional = make_employee("Acme/EMEA", full_name="Rita Regional")
    summary = home_summary(scope_for(make_user("manager", regional)), today)
    assert [t.unit_path for t in summary.teams] == ["Acme/EMEA", NORTH, SOUTH]
    assert "Sam Southnolicence" in _names_in(summary)


def test_change_leader_home_shows_totals_seats_lowest_units_and_last_import(
    app, client, db, login_as
):
    _seed_org(db, _today(app))
    db.session.add_all(
        [
            RosterImport(
                filename="hr-may.csv",
                content=b"",
                effective_date=dt.date(2025, 5, 1),
                status="applied",
                summary={"counts": {"rows": 120, "rejected": 2}},
            ),
        ]
    )
    db.session.flush()
    db.session.add(
        RosterImport(
            filename="hr-june.csv",
            content=b"",
            effective_date=dt.date(2025, 6, 1),
            status="previewed",
            summary={"counts": {"rows": 118, "rejected": 0}},
        )
    )
    login_as("change_leader", unit="Acme/HQ")
    html = client.get("/").get_data(as_text=True)
    # Active today: Nora, Ned, Jill, Sam, Sue, Victoria, and the change leader = 7; licensed: 4.
    assert re.search(r'data-testid="stat-headcount".*?stat-value">7<', html, re.DOTALL)
    assert re.search(r'data-testid="stat-licensed".*?stat-value">4<', html, re.DOTALL)
    assert re.search(r'data-testid="stat-seats".*?stat-value">4 / 40<', html, re.DOTALL)
    lowest = html.split("lowest licence share", 1)[1].split("</table>", 1)[0]
    assert lowest.index("Acme/HQ") < lowest.index(SOUTH) < lowest.index(NORTH)
    assert "hr-june.csv" in html and "Previewed, not applied" in html and "hr-may.csv" not in html
    assert 'href="/dashboards/"' in html


def test_change_leader_home_without_initiative_or_import_says_so(client, login_as):
    login_as("change_leader")
    html = client.get("/").get_data(as_text=True)
    assert "No initiative is set up yet" in html
    assert "No roster has been imported yet" in html


def test_executive_home_shows_aggregates_target_and_sponsors(app, client, db, login_as):
    _seed_org(db, _today(app))
    login_as("executive", unit="Acme")
    html = client.get("/").get_data(as_text=True)
    assert re.search(r'data-testid="stat-headcount".*?stat-value">7<', html, re.DOTALL)
    assert re.search(r'data-testid="stat-seats".*?stat-value">4 / 40<', html, re.DOTALL)
    assert re.search(r'data-testid="adoption-target">75% of licensed seats', html)
    assert "Victoria Sponsor" in html and "CRM rollout 2025" in html


def test_executive_home_never_lists_individuals(app, client, db, login_as):
    """Aggregates only for an executive: try every list that names people, page and data."""
    today = _today(app)
    _seed_org(db, today)
    # The executive sits in a team full of people who would make a manager's lists.
    exec_user = login_as("executive", unit=NORTH)
    html = client.get("/").get_data(as_text=True)
    for name in OTHERS:
        assert name not in html
    for lead in ("Without a CRM licence", "New joiners", "Leavers", "lowest licence share"):
        assert lead not in html

    summary = home_summary(scope_for(exec_user), today)
    assert summary.teams == [] and summary.lowest_share_units == [] and summary.imports == []
    assert summary.accounts is None
    leaked = _names_in(summary)
    for name in OTHERS:
        assert name not in leaked
    # The only people named: the executive themself and the initiative's sponsors.
    assert summary.me.full_name == exec_user.employee.full_name
    assert summary.organization.initiative.sponsors == ["Victoria Sponsor"]


def test_aggregates_only_scope_gets_no_names_whatever_role_it_claims(db):
    """Names follow ``sees_individuals``, not the role: a forged manager scope lists no one."""
    today = dt.date(2025, 6, 15)
    _seed_org(db, today)
    forged = Scope(Role.MANAGER, None, None, None, False)
    summary = home_summary(forged, today)
    assert {t.unit_path for t in summary.teams} == {"Acme", NORTH, SOUTH}
    assert all(not (t.without_licence or t.joiners or t.leavers) for t in summary.teams)
    leaked = _names_in(summary)
    for name in OTHERS + ["Victoria Sponsor"]:
        assert name not in leaked


def test_admin_home_counts_accounts_by_role_and_lists_imports(client, db, login_as):
    for role in ("employee", "employee", "manager"):
        make_user(role, make_employee())
    disabled = make_user("executive", make_employee())
    disabled.is_enabled = False
    for n in range(7):
        db.session.add(
            RosterImport(
                filename=f"hr-{n}.csv",
                content=b"",
                effective_date=dt.date(2025, 1, 1 + n),
                status="applied" if n % 2 else "discarded",
                summary={},
            )
        )
    login_as("admin")
    html = client.get("/").get_data(as_text=True)
    assert re.search(r'data-testid="accounts-employee">2<', html)
    assert re.search(r'data-testid="accounts-manager">1<', html)
    assert re.search(r'data-testid="accounts-admin">1<', html)
    assert "1 disabled" in html
    # Nobody on the roster is without an account yet; two people join it without one.
    assert 'data-testid="roster-without-account"' not in html
    make_employee()
    make_employee()
    left = make_employee()
    left.active = False
    db.session.commit()
    html = client.get("/").get_data(as_text=True)
    assert re.search(r'data-testid="roster-without-account"><a href="/admin/users">2 active people', html)
    assert html.count('data-testid="import-row"') == 5
    assert "hr-6.csv" in html and "hr-0.csv" not in html
    assert 'href="/admin/roster"' in html and 'href="/admin/users"' in html


def test_admin_home_points_to_locked_accounts_and_the_last_days_refused_sign_ins(client, db, login_as):
    login_as("admin")
    html = client.get("/").get_data(as_text=True)
    assert 'data-testid="accounts-locked"' not in html and 'data-testid="sign-ins-refused"' not in html
    policy = LoginPolicy(max_failures=2, lockout=dt.timedelta(minutes=15))
    someone, other = make_user("employee", make_employee()), make_user("employee", make_employee())
    now = utcnow()
    for address in ("192.0.2.1", "192.0.2.2"):  # the second locks the account
        authenticate(someone.email, "not the password", now, policy, address=address)
    authenticate("nobody@acme.example", "guess", now, policy, address="192.0.2.2")
    authenticate(other.email, "not the password", now - dt.timedelta(hours=25), policy, address="192.0.2.3")
    db.session.commit()
    html = client.get("/").get_data(as_text=True)
    assert re.search(r'data-testid="accounts-locked"><a href="/admin/users\?status=locked">1 account is locked', html)
    refused = re.search(r'data-testid="sign-ins-refused">(.*?)</p>', html, re.DOTALL).group(1)
    assert 'href="/admin/sign-ins?outcome=failed"' in refused
    # The attempt of 25 hours ago is not counted; the unknown e-mail is no account.
    assert re.sub(r"<[^>]+>", "", refused) == "3 refused sign-in attempts in the last 24 hours, on 1 account from 2 addresses"


# ---------------------------------------------------------------- error pages


def _assert_in_layout(html: str, title: str) -> None:
    """The page is the site layout (navigation, stylesheet) around the error."""
    assert 'aria-label="Main navigation"' in html
    assert "bootstrap.min.css" in html and "css/app.css" in html
    assert title in html


def test_unknown_path_gets_404_in_layout(client, login_as):
    login_as("manager")
    response = client.get("/no/such/page")
    assert response.status_code == 404
    _assert_in_layout(response.get_data(as_text=True), "Page not found")


def test_employee_on_admin_users_gets_403_in_layout(client, login_as):
    login_as("employee")
    response = client.get("/admin/users")
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    _assert_in_layout(html, "Not allowed")
    assert "@acme.example" in html.split('data-testid="signed-in-as"', 1)[1].split("</span>", 1)[0]


@pytest.mark.parametrize(
    "code, title",
    [
        (400, "Bad request"),
        (413, "File too large"),
        (429, "Too many attempts"),
        (500, "Something went wrong"),
    ],
)
def test_other_error_pages_render_in_layout(app, client, code, title):
    def fail():
        if code == 500:
            raise RuntimeError("boom")
        abort(code)

    app.add_url_rule(f"/test-error-{code}", f"test_error_{code}", fail)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get(f"/test-error-{code}")
    assert response.status_code == code
    _assert_in_layout(response.get_data(as_text=True), title)


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_form_without_csrf_token_gets_form_expired_page(client):
    response = client.post("/login", data={"email": "a@acme.example", "password": "x" * 12})
    assert response.status_code == 400
    _assert_in_layout(response.get_data(as_text=True), "Form expired")


# ---------------------------------------------------------------- assets and accessibility


def _template_files() -> list[Path]:
    """Every Jinja template of every package."""
    return [p for d in TEMPLATE_DIRS if d.is_dir() for p in d.rglob("*.html")]


def test_no_template_or_stylesheet_loads_an_external_url():
    remote = re.compile(
        r"""(?:src|href|action|srcset)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//|@import\s+["']?(?:https?:)?//""",
        re.IGNORECASE,
    )
    files = _template_files() + list((PROJECT_ROOT / "static" / "css").rglob("*.css"))
    assert len(files) >= 10
    offenders = [
        f"{p.relative_to(PROJECT_ROOT)}: {m.group(0)}"
        for p in files
        for m in remote.finditer(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_favicon_is_served_locally_and_linked(client):
    assert client.get("/static/img/favicon.svg").status_code == 200
    assert 'rel="icon" type="image/svg+xml" href="/static/img/favicon.svg"' in client.get(
        "/login"
    ).get_data(as_text=True)


class _FormControls(HTMLParser):
    """Collects inputs and the ids that labels point at."""

    def __init__(self):
        super().__init__()
        self.inputs: list[dict] = []
        self.label_for: set[str] = set()
        self.by_id: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.by_id.add(attrs["id"])
        if tag in ("input", "select", "textarea"):
            self.inputs.append(attrs | {"_tag": tag})
        elif tag == "label" and attrs.get("for"):
            self.label_for.add(attrs["for"])


def _controls(html: str) -> _FormControls:
    """Parse ``html`` for form controls and labels."""
    parser = _FormControls()
    parser.feed(html)
    return parser


def test_every_input_on_the_login_page_has_a_label(client):
    page = _controls(client.get("/login").get_data(as_text=True))
    visible = [i for i in page.inputs if i.get("type") not in ("hidden", "submit", "button")]
    assert {i["name"] for i in visible} == {"email", "password"}
    for control in visible:
        assert control.get("id") in page.label_for, control


def test_login_errors_are_tied_to_their_fields(client):
    html = client.post("/login", data={"email": "not-an-address", "password": ""}).get_data(
        as_text=True
    )
    page = _controls(html)
    for name in ("email", "password"):
        [control] = [i for i in page.inputs if i.get("name") == name]
        assert control.get("aria-invalid") == "true"
        described = control.get("aria-describedby", "").split()
        assert f"{control['id']}-error" in described
        assert all(d in page.by_id for d in described)


# ---------------------------------------------------------------- the settings page


def test_settings_page_shows_what_is_in_force_and_never_a_secret(app, client, login_as):
    app.config.update(SURVEY_MIN_RESPONDENTS=7, WEEK_START=6, MAIL_PASSWORD="smtp-secret-pw",
                      CELERY_BROKER_URL="redis://:broker-secret-pw@redis.internal:6379/0")
    login_as("admin")
    html = client.get("/admin/settings").get_data(as_text=True)
    row = re.search(r'data-testid="setting-UPTAKE_SURVEY_MIN_RESPONDENTS">(.*?)</tr>', html, re.DOTALL).group(1)
    assert "<strong>7</strong>" in row and "default" not in row
    comments = re.search(r'data-testid="setting-UPTAKE_SURVEY_MIN_COMMENT_RESPONDENTS">(.*?)</tr>', html,
                         re.DOTALL).group(1)
    assert "<strong>5</strong>" in comments and "default" in comments
    assert "<strong>Sunday</strong>" in html
    assert "redis.internal" in html
    for secret in ("smtp-secret-pw", "broker-secret-pw", app.config["SECRET_KEY"]):
        assert secret not in html
    # Nothing on the page changes a setting.
    assert "<form" not in html.split('<main', 1)[1].split("</main>", 1)[0]


@pytest.mark.parametrize("role", ["employee", "manager", "change_leader", "executive"])
def test_settings_page_is_for_admins_only(client, login_as, role):
    login_as(role)
    assert client.get("/admin/settings").status_code == 403
