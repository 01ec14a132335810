"""The sign-in log (adoption/sign_ins.py): every attempt to sign in is recorded with its outcome,
its account and the client's address (behind trusted proxies only: UPTAKE_TRUSTED_PROXIES), in
the attempt's own transaction, never with what was typed; it keeps UPTAKE_SIGN_IN_LOG_DAYS days;
only admins read it (Admin → Sign-ins, its CSV, an account's page); a person finds their own
sign-ins in their personal data, and erasing a leaver deletes theirs."""
from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re

import pytest
from sqlalchemy import select

from adoption.accounts import LoginPolicy, authenticate
from adoption.config import MAX_SIGN_IN_LOG_DAYS, load_settings
from adoption.erasure import erase_on_request
from adoption.extensions import db as _db
from adoption.models import FAILED_OUTCOMES, SIGN_IN_OUTCOMES, SignIn, User
from adoption.scope import ScopeError, scope_for
from adoption.sign_ins import (
    Failures,
    account_sign_ins,
    recent_failures,
    record_attempt,
    sign_in_log,
    sign_in_log_csv,
)
from adoption.timekeeping import utcnow
from tests.factories import DEFAULT_PASSWORD, leave, make_employee, make_user

NOW = dt.datetime(2026, 5, 4, 9, 30)
POLICY = LoginPolicy(max_failures=3, lockout=dt.timedelta(minutes=15))
WRONG = "not the password at all"
MINUTE, HOUR, DAY = dt.timedelta(minutes=1), dt.timedelta(hours=1), dt.timedelta(days=1)
NOT_ADMINS = ["employee", "manager", "change_leader", "executive"]
SAYS = SIGN_IN_OUTCOMES  # how the pages say each outcome


def _try(email: str, password: str = DEFAULT_PASSWORD, address: str = "192.0.2.1", at: dt.datetime = NOW):
    """Sign in through the service, as the login page does."""
    return authenticate(email, password, at, POLICY, address=address)


def _add(outcome: str, user: User | None, address: str | None, at: dt.datetime) -> None:
    """A row written straight into the log (no purge, no account updated)."""
    _db.session.add(SignIn(outcome=outcome, user=user, address=address, at=at))
    _db.session.flush()


def _rows(db) -> list[tuple]:
    """(outcome, account e-mail, address) of every row of the log, in the order written."""
    return [(a.outcome, a.user.email if a.user else None, a.address)
            for a in db.session.scalars(select(SignIn).order_by(SignIn.id))]


def _admin_scope():
    return scope_for(make_user("admin"))


def _post_login(client, email: str, password: str = DEFAULT_PASSWORD, remote: str = "127.0.0.1",
                forwarded: str | None = None):
    """POST the login form from the client address ``remote``, with ``X-Forwarded-For`` when given."""
    return client.post("/login", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": remote},
                       headers={"X-Forwarded-For": forwarded} if forwarded else {})


def _cells(response, testid: str) -> list[tuple[str, ...]]:
    """The text of each cell of each row in the body of the table ``testid`` on the page."""
    page = response.get_data(as_text=True)
    table = page[page.index(f'data-testid="{testid}"'):]
    body = table[table.index("<tbody>"):table.index("</tbody>")]
    return [tuple(html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
                  for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL))
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.DOTALL)]


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


# ---------------------------------------------------------------- what is recorded


def test_each_outcome_is_recorded_with_its_account_and_address(db):
    ok, locked, disabled = make_user("employee"), make_user("employee"), make_user("employee")
    invited = make_user("employee", password=None)
    disabled.is_enabled = False
    assert _try(ok.email, address="192.0.2.1") == ok
    _try(ok.email, WRONG, "192.0.2.2")
    for _ in range(POLICY.max_failures):
        _try(locked.email, WRONG, "192.0.2.3")
    assert _try(locked.email, DEFAULT_PASSWORD, "192.0.2.3", at=NOW + MINUTE) is None
    assert _try(disabled.email, address="192.0.2.4") is None
    assert _try(invited.email, address="192.0.2.5") is None
    assert _try("nobody@acme.example", address="192.0.2.6") is None
    assert _rows(db) == [
        ("signed_in", ok.email, "192.0.2.1"), ("wrong_password", ok.email, "192.0.2.2"),
        *[("wrong_password", locked.email, "192.0.2.3")] * POLICY.max_failures,
        ("locked", locked.email, "192.0.2.3"), ("disabled", disabled.email, "192.0.2.4"),
        ("no_password", invited.email, "192.0.2.5"), ("unknown_account", None, "192.0.2.6")]


def test_nothing_typed_is_stored_not_even_for_an_unknown_account(db):
    someone = make_user("employee")
    _try("typo.password123@acme.example", "Secret-typed-99")
    _try(someone.email, "Secret-typed-99")
    rows = db.session.execute(select(SignIn.__table__)).all()
    values = [str(value) for row in rows for value in row]
    assert len(rows) == 2
    assert not [v for v in values if "typo.password123" in v or "Secret-typed-99" in v]


def test_an_attempt_rolled_back_leaves_neither_its_row_nor_its_lockout(db):
    someone = make_user("employee")
    for _ in range(POLICY.max_failures - 1):
        _try(someone.email, WRONG)
    db.session.commit()
    _try(someone.email, WRONG)  # the failure that locks
    assert len(_rows(db)) == POLICY.max_failures
    db.session.rollback()
    assert len(_rows(db)) == POLICY.max_failures - 1
    stored = db.session.get(User, someone.id)
    assert (stored.locked_until, stored.failed_logins) == (None, POLICY.max_failures - 1)


# ---------------------------------------------------------------- how long it keeps


@pytest.mark.parametrize("app_config", [{"SIGN_IN_LOG_DAYS": 30}])
def test_an_attempt_deletes_those_older_than_the_log_keeps(db):
    someone = make_user("employee")
    _try(someone.email, WRONG, "192.0.2.31", at=NOW - 31 * DAY)
    _try(someone.email, WRONG, "192.0.2.29", at=NOW - 29 * DAY)
    _try(someone.email, DEFAULT_PASSWORD, "192.0.2.1", at=NOW)
    assert [address for *_, address in _rows(db)] == ["192.0.2.29", "192.0.2.1"]


@pytest.mark.parametrize("app_config", [{"SIGN_IN_LOG_DAYS": 30}])
def test_the_log_never_shows_attempts_older_than_it_keeps_even_when_none_purged_them(db):
    scope, someone = _admin_scope(), make_user("employee")
    _add("wrong_password", someone, "192.0.2.9", NOW)
    later, too_late = NOW + 29 * DAY, NOW + 31 * DAY
    assert [a.address for a in db.session.scalars(sign_in_log(scope, now=later))] == ["192.0.2.9"]
    assert db.session.scalars(sign_in_log(scope, now=too_late)).all() == []
    assert account_sign_ins(scope, someone, now=too_late) == []
    assert len(sign_in_log_csv(scope, now=too_late).splitlines()) == 1  # the header alone
    assert len(_rows(db)) == 1  # still stored: only the readers left it out


# ---------------------------------------------------------------- who may read it


@pytest.mark.parametrize("role", NOT_ADMINS)
def test_only_admins_read_the_log_in_the_data_layer(db, role):
    reader = make_user(role, make_employee("Acme/EMEA", is_executive=role == "executive"))
    scope = scope_for(reader)
    readers = [lambda: sign_in_log(scope, now=NOW), lambda: sign_in_log_csv(scope, now=NOW),
               lambda: account_sign_ins(scope, reader, now=NOW), lambda: recent_failures(scope, now=NOW)]
    for read in readers:
        with pytest.raises(ScopeError):
            read()


def test_an_admin_reads_the_log_in_the_data_layer(db):
    scope, someone = _admin_scope(), make_user("employee")
    _try(someone.email, WRONG, "192.0.2.8")
    assert [a.outcome for a in db.session.scalars(sign_in_log(scope, now=NOW))] == ["wrong_password"]
    assert list(csv.reader(io.StringIO(sign_in_log_csv(scope, now=NOW))))[1] == [
        "2026-05-04 09:30:00", "wrong_password", SAYS["wrong_password"], someone.email, "192.0.2.8"]
    assert [a.address for a in account_sign_ins(scope, someone, now=NOW)] == ["192.0.2.8"]
    assert recent_failures(scope, now=NOW) == Failures(24, 1, 1, 1)


# ---------------------------------------------------------------- reading it


def test_recent_failures_count_the_refusals_of_the_last_day_their_accounts_and_addresses(db):
    a, b = make_user("employee"), make_user("employee")
    _add("wrong_password", a, "192.0.2.1", NOW - HOUR)
    _add("wrong_password", a, "192.0.2.2", NOW - 2 * HOUR)
    _add("disabled", b, "192.0.2.1", NOW - 3 * HOUR)
    _add("unknown_account", None, "192.0.2.3", NOW - 4 * HOUR)  # no account to count
    _add("unknown_account", None, "192.0.2.3", NOW - 23 * HOUR)
    _add("wrong_password", make_user("employee"), "192.0.2.4", NOW - 25 * HOUR)  # a day ago
    _add("signed_in", b, "192.0.2.5", NOW - MINUTE)  # not a refusal
    assert recent_failures(_admin_scope(), now=NOW) == Failures(hours=24, attempts=5, accounts=2, addresses=3)


@pytest.fixture
def one_of_each(db):
    """A row of each outcome, a minute apart in the order of SIGN_IN_OUTCOMES (the first newest):
    dana.lee's from 10.1.2.3, the others from 110.1.2.3."""
    dana, other = make_user("employee", email="Dana.Lee@acme.example"), make_user("employee")
    for n, outcome in enumerate(SIGN_IN_OUTCOMES):
        user = dana if n < 2 else None if outcome == "unknown_account" else other
        _add(outcome, user, "10.1.2.3" if user is dana else "110.1.2.3", NOW - (n + 1) * MINUTE)
    return _admin_scope()


def _filtered(db, scope, **filters) -> list[tuple[str, str]]:
    return [(a.outcome, a.address) for a in db.session.scalars(sign_in_log(scope, now=NOW, **filters))]


def test_the_outcome_filter_selects_every_refusal_or_one_outcome(db, one_of_each):
    refused = _filtered(db, one_of_each, outcome="failed")
    assert [outcome for outcome, _ in refused] == list(FAILED_OUTCOMES)
    assert _filtered(db, one_of_each, outcome="locked") == [("locked", "110.1.2.3")]
    assert _filtered(db, one_of_each, outcome="signed_in") == [("signed_in", "10.1.2.3")]


def test_the_search_matches_the_account_in_any_case_or_the_start_of_the_address(db, one_of_each):
    danas = [("signed_in", "10.1.2.3"), ("wrong_password", "10.1.2.3")]
    assert _filtered(db, one_of_each, search="DANA.LEE") == danas
    assert _filtered(db, one_of_each, search="10.1.") == danas  # not 110.1.2.3
    assert len(_filtered(db, one_of_each, search="110.1.")) == len(SIGN_IN_OUTCOMES) - 2


def test_an_unknown_outcome_is_refused(db, one_of_each):
    with pytest.raises(ValueError, match="drop_table"):
        _filtered(db, one_of_each, outcome="drop_table")


# ---------------------------------------------------------------- the client's address


def test_signing_in_through_the_form_records_the_clients_address(client, db):
    someone = make_user("employee")
    db.session.commit()
    assert _post_login(client, someone.email, remote="192.0.2.10").status_code == 302
    assert _rows(db) == [("signed_in", someone.email, "192.0.2.10")]


@pytest.mark.parametrize(("app_config", "forwarded", "logged"), [
    ({"TRUSTED_PROXIES": 0}, "203.0.113.7", "10.0.0.1"),
    ({"TRUSTED_PROXIES": 1}, "203.0.113.7", "203.0.113.7"),
    ({"TRUSTED_PROXIES": 1}, "198.51.100.1, 203.0.113.7", "203.0.113.7"),
], ids=["no-proxy-header-ignored", "one-proxy", "one-proxy-forged-first-hop"])
def test_the_logged_address_believes_only_the_hops_the_trusted_proxies_added(client, db, forwarded, logged):
    assert _post_login(client, "nobody@acme.example", WRONG, remote="10.0.0.1", forwarded=forwarded).status_code == 401
    assert _rows(db) == [("unknown_account", None, logged)]


@pytest.mark.parametrize("app_config", [{"TRUSTED_PROXIES": 1, "RATELIMIT_ENABLED": True,
                                         "LOGIN_RATE_LIMIT": "3 per minute"}])
def test_behind_a_trusted_proxy_the_login_rate_limit_counts_each_client_apart(client, db):
    someone = make_user("employee")
    db.session.commit()

    def status(client_address: str) -> int:
        return _post_login(client, someone.email, WRONG, remote="10.0.0.1", forwarded=client_address).status_code

    assert [status("203.0.113.7") for _ in range(3)] == [401, 401, 401]
    assert status("198.51.100.23") == 401  # another client behind the same proxy
    assert status("203.0.113.7") == 429


@pytest.mark.parametrize("app_config", [{"TRUSTED_PROXIES": 1, "WTF_CSRF_ENABLED": True}])
def test_behind_a_tls_proxy_a_form_posts_from_its_own_site_and_not_from_another(client, db):
    """The proxy says the request came over HTTPS: Flask-WTF then also wants a same-site Referer
    (with the Host the person asked for, which the proxy must pass on)."""
    someone = make_user("employee")
    db.session.commit()
    proxied = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https", "Host": "uptake.acme.example"}
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                      client.get("/login", headers=proxied).get_data(as_text=True)).group(1)
    form = {"email": someone.email, "password": DEFAULT_PASSWORD, "csrf_token": token}
    elsewhere = client.post("/login", data=form, headers={**proxied, "Referer": "https://evil.example/login"})
    assert elsewhere.status_code == 400 and _rows(db) == []
    signed_in = client.post("/login", data=form, headers={**proxied, "Referer": "https://uptake.acme.example/login"})
    assert signed_in.status_code == 302
    assert _rows(db) == [("signed_in", someone.email, "203.0.113.7")]


# ---------------------------------------------------------------- the pages


@pytest.mark.parametrize("role", NOT_ADMINS)
def test_the_sign_in_log_and_its_download_are_refused_to_everyone_but_admins(client, login_as, role):
    login_as(role)
    assert client.get("/admin/sign-ins").status_code == 403
    assert client.get("/admin/sign-ins.csv").status_code == 403


def test_an_unknown_outcome_on_the_page_answers_400(client, login_as):
    login_as("admin")
    assert client.get("/admin/sign-ins?outcome=drop_table").status_code == 400
    assert client.get("/admin/sign-ins.csv?outcome=drop_table").status_code == 400


@pytest.fixture
def attempts(client, db, login_as):
    """A signed-in admin (their sign-in the newest attempt, from 127.0.0.1), then, older by a
    minute each: dana.lee's wrong password from 10.1.2.3, an unknown account from 110.1.2.3,
    dana.lee signing in from 10.1.2.3; and another account's wrong password 30 hours ago."""
    me = login_as("admin")
    dana, other = make_user("employee", email="dana.lee@acme.example"), make_user("employee", email="o@acme.example")
    db.session.commit()
    now = utcnow()
    _try(dana.email, WRONG, "10.1.2.3", at=now - MINUTE)
    _try("nobody@acme.example", WRONG, "110.1.2.3", at=now - 2 * MINUTE)
    _try(dana.email, DEFAULT_PASSWORD, "10.1.2.3", at=now - 3 * MINUTE)
    _try(other.email, WRONG, "192.0.2.50", at=now - 30 * HOUR)
    db.session.commit()
    return {"admin": me.email, "dana": dana.id}


DANA_FAILED = (SAYS["wrong_password"], "dana.lee@acme.example", "10.1.2.3")
UNKNOWN = (SAYS["unknown_account"], "none", "110.1.2.3")
DANA_IN = (SAYS["signed_in"], "dana.lee@acme.example", "10.1.2.3")
OLD_FAILED = (SAYS["wrong_password"], "o@acme.example", "192.0.2.50")


def _log_page(client, query: str = "") -> list[tuple[str, ...]]:
    """(result, account, address) of each attempt on the log page, the time left aside."""
    return [row[1:] for row in _cells(client.get(f"/admin/sign-ins{query}"), "sign-in-log")]


def test_the_sign_in_log_page_lists_attempts_newest_first(client, attempts):
    assert _log_page(client) == [(SAYS["signed_in"], attempts["admin"], "127.0.0.1"),
                                 DANA_FAILED, UNKNOWN, DANA_IN, OLD_FAILED]


def test_the_sign_in_log_page_filters_by_outcome_and_by_account_or_address(client, attempts):
    assert _log_page(client, "?outcome=failed") == [DANA_FAILED, UNKNOWN, OLD_FAILED]
    assert _log_page(client, "?outcome=signed_in&q=DANA.LEE") == [DANA_IN]
    assert _log_page(client, "?q=10.1.") == [DANA_FAILED, DANA_IN]


def test_the_sign_in_log_page_sums_up_the_refusals_of_the_last_day(client, attempts):
    page = client.get("/admin/sign-ins").get_data(as_text=True)
    summary = page[page.index('data-testid="sign-in-failures"'):]
    text = " ".join(re.sub(r"<[^>]+>", " ", summary[:summary.index("</p>")]).split())
    assert "In the last 24 hours: 2 refused attempts on 1 account from 2 client addresses." in text


def test_the_sign_in_log_pages_fifty_attempts_at_a_time(client, db, login_as):
    login_as("admin")
    now = utcnow()
    for n in range(60):
        _add("unknown_account", None, f"198.51.100.{n}", now - (n + 1) * MINUTE)
    db.session.commit()
    first, second = _log_page(client), _log_page(client, "?page=2")
    assert len(first) == 50 and first[0][2] == "127.0.0.1"  # the admin's own sign-in, newest
    assert len(second) == 11 and second[-1][2] == "198.51.100.59"


def test_the_sign_in_log_downloads_as_csv_with_its_filters_newest_first(client, attempts):
    header, *rows = _csv(client.get("/admin/sign-ins.csv?outcome=failed"))
    assert header == ["at_utc", "outcome", "result", "account", "address"]
    assert [tuple(r[1:]) for r in rows] == [
        ("wrong_password", SAYS["wrong_password"], "dana.lee@acme.example", "10.1.2.3"),
        ("unknown_account", SAYS["unknown_account"], "", "110.1.2.3"),
        ("wrong_password", SAYS["wrong_password"], "o@acme.example", "192.0.2.50")]
    times = [dt.datetime.fromisoformat(r[0]) for r in rows]
    assert times == sorted(times, reverse=True)
    assert [r[1] for r in _csv(client.get("/admin/sign-ins.csv?q=10.1."))[1:]] == ["wrong_password", "signed_in"]


def test_the_account_page_shows_that_accounts_recent_sign_ins_only(client, attempts):
    page = client.get(f"/admin/users/{attempts['dana']}")
    assert [row[1:] for row in _cells(page, "account-sign-ins")] == [
        (SAYS["wrong_password"], "10.1.2.3"), (SAYS["signed_in"], "10.1.2.3")]


# ---------------------------------------------------------------- the person's own, and erasure


def test_a_person_finds_their_own_sign_ins_in_their_data_and_no_one_elses(client, db, login_as):
    me = login_as("employee")  # from 127.0.0.1
    other = make_user("employee")
    _try(me.email, WRONG, "198.51.100.20", at=utcnow())
    _try(other.email, WRONG, "198.51.100.99", at=utcnow())
    db.session.commit()
    sections = {s["key"]: s for s in client.get("/me/data.json").get_json()["sections"]}
    records = sections["sign_ins"]["records"]
    assert [(r["result"], r["address"]) for r in records] == [
        (SAYS["signed_in"], "127.0.0.1"), (SAYS["wrong_password"], "198.51.100.20")]
    assert all(dt.datetime.fromisoformat(r["at"].removesuffix("Z")) <= utcnow() for r in records)


def test_erasing_a_leaver_deletes_their_sign_ins_and_counts_them(db):
    leaver = make_employee("Acme/EMEA")
    account, stayer = make_user("employee", leaver), make_user("employee")
    _try(account.email, DEFAULT_PASSWORD, at=NOW - 60 * DAY)
    _try(account.email, WRONG, at=NOW - 59 * DAY)
    _try(stayer.email, WRONG, "192.0.2.2", at=NOW - 59 * DAY)
    leave(leaver, dt.date(2026, 3, 31))
    erasure = erase_on_request(_admin_scope(), leaver, NOW)
    assert erasure.counts["sign_ins"] == 2
    assert _rows(db) == [("wrong_password", stayer.email, "192.0.2.2")]


# ---------------------------------------------------------------- settings


@pytest.mark.parametrize(("variable", "value"), [
    ("UPTAKE_SIGN_IN_LOG_DAYS", "0"), ("UPTAKE_TRUSTED_PROXIES", "-1"), ("UPTAKE_TRUSTED_PROXIES", "11")])
def test_settings_refuse_a_log_of_no_days_and_a_negative_number_of_proxies(variable, value):
    with pytest.raises(ValueError, match=variable):
        load_settings(environ={variable: value})


def test_settings_read_the_log_days_and_the_proxies_from_the_environment():
    defaults = load_settings(environ={})
    assert (defaults["SIGN_IN_LOG_DAYS"], defaults["TRUSTED_PROXIES"]) == (90, 0)
    settings = load_settings(environ={"UPTAKE_SIGN_IN_LOG_DAYS": "1", "UPTAKE_TRUSTED_PROXIES": "2"})
    assert (settings["SIGN_IN_LOG_DAYS"], settings["TRUSTED_PROXIES"]) == (1, 2)


def test_settings_refuse_more_days_than_the_log_can_count_and_the_most_they_take_works(db):
    """A day count past the calendar's end would make every sign-in fail: refused when the app
    starts; the largest accepted one records and reads."""
    with pytest.raises(ValueError, match="UPTAKE_SIGN_IN_LOG_DAYS"):
        load_settings(environ={"UPTAKE_SIGN_IN_LOG_DAYS": "1000000"})
    settings = load_settings(environ={"UPTAKE_SIGN_IN_LOG_DAYS": str(MAX_SIGN_IN_LOG_DAYS)})
    record_attempt("unknown_account", user=None, address="192.0.2.1", at=NOW, config=settings)
    assert len(db.session.scalars(sign_in_log(_admin_scope(), now=NOW, config=settings)).all()) == 1
