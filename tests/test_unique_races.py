"""Simultaneous creations of one unique value (a user's e-mail, an organization's credit code, the partnership of
two organizations): each request may pass the service's check before any of them is written, and the database's
unique constraint refuses all but one. Those are answered ``409 conflict`` naming the field (SPEC §3), and a page
shows the error beside the field — never a 500. Real HTTP to gunicorn with 4 workers, on SQLite and PostgreSQL."""

from datetime import UTC, date, datetime
from functools import partial

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from booking.extensions import db
from booking.models import JobRun, Organization, Partnership, User
from booking.models.enums import OrgKind, Role
from booking.services.errors import Conflict

from .factories import PASSWORD, credit_code
from .live import all_at_once
from .pages import csrf_from

REQUESTS = 8
TIMEOUT = 60
EMAIL = "race@example.test"
CREDIT_CODE = credit_code(987_654)


def _log_tail(tmp_path) -> str:
    log = tmp_path / "gunicorn.log"
    return log.read_text(errors="replace")[-3000:] if log.exists() else "(no server log)"


def _count(model, *conditions) -> int:
    db.session.remove()  # written by the server's processes
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions))


API_CASES = {
    "user": (
        "/api/v1/users",
        lambda w, i: {
            "email": EMAIL,
            "name": f"同时注册{i}",
            "password": PASSWORD,
            "organization_id": w["provider"].id,
            "role": "member",
        },
        "email",
        lambda w: _count(User, User.email == EMAIL),
    ),
    "organization": (
        "/api/v1/organizations",
        lambda w, i: {
            "name": f"同时登记的机构{i}",
            "kind": "testing_center",
            "city": "430200",
            "industry": "instruments",
            "credit_code": CREDIT_CODE,
        },
        "credit_code",
        lambda w: _count(Organization, Organization.credit_code == CREDIT_CODE),
    ),
    "partnership": (
        "/api/v1/partnerships",
        lambda w, i: {"provider_id": w["provider"].id, "sme_id": w["sme"].id, "started_on": date.today().isoformat()},
        "sme_id",
        lambda w: _count(Partnership, Partnership.sme_id == w["sme"].id),
    ),
}


@pytest.mark.parametrize("case", sorted(API_CASES))
def test_simultaneous_api_creations_of_one_unique_value_answer_409_naming_the_field(request, factory, tmp_path, case):
    path, body, field, count = API_CASES[case]
    admin = factory.make_user(role=Role.platform_admin)
    provider, _provider_admin, _operator = factory.make_provider()
    world = {"provider": provider, "sme": factory.make_org(kind=OrgKind.sme)}
    base = request.getfixturevalue("live_server")
    signed_in = requests.post(
        f"{base}/api/v1/auth/tokens", json={"email": admin.email, "password": PASSWORD}, timeout=TIMEOUT
    )
    assert signed_in.status_code == 201, signed_in.text
    headers = {"Authorization": f"Bearer {signed_in.json()['token']}", "Accept-Language": "en"}

    calls = [
        partial(requests.post, base + path, json=body(world, i), headers=headers, timeout=TIMEOUT)
        for i in range(REQUESTS)
    ]
    answers = all_at_once(calls)

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] + [409] * (REQUESTS - 1), (statuses, _log_tail(tmp_path))
    for answer in answers:
        if answer.status_code == 409:
            error = answer.json()["error"]
            assert error["code"] == "conflict" and error["fields"] == {field: error["fields"][field]}, error
            assert error["fields"][field] and error["message"]
    assert count(world) == 1


WEB_CASES = {
    "user": (
        "/manage/organization/users",
        lambda w: {"user-email": EMAIL, "user-name": "同时注册", "user-role": "member", "user-password": PASSWORD},
        "user-email",
        lambda w: _count(User, User.email == EMAIL),
    ),
    "partnership": (
        "/manage/organization/partnerships",
        lambda w: {"partner-sme_id": str(w["sme"].id), "partner-started_on": date.today().isoformat()},
        "partner-sme_id",
        lambda w: _count(Partnership, Partnership.sme_id == w["sme"].id),
    ),
}


def _browser(base: str, user) -> tuple[requests.Session, str]:
    """A browser signed in as ``user`` in English, with the CSRF token of the organization page."""
    browser = requests.Session()
    browser.cookies.set("lang", "en")
    token = csrf_from(browser.get(f"{base}/login", timeout=TIMEOUT).text)
    signed_in = browser.post(
        f"{base}/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert signed_in.status_code == 302, signed_in.text
    return browser, csrf_from(browser.get(f"{base}/manage/organization", timeout=TIMEOUT).text)


@pytest.mark.parametrize("case", sorted(WEB_CASES))
def test_simultaneous_form_creations_of_one_unique_value_show_the_error_beside_the_field(
    request, factory, tmp_path, case
):
    action, data, field_id, count = WEB_CASES[case]
    provider, admin, _operator = factory.make_provider()
    admins = [admin] + [factory.make_user(provider, Role.org_admin) for _ in range(REQUESTS - 1)]
    world = {"sme": factory.make_org(kind=OrgKind.sme)}
    base = request.getfixturevalue("live_server")
    browsers = [_browser(base, user) for user in admins]

    calls = [
        partial(
            browser.post,
            base + action,
            data={**data(world), "csrf_token": token},
            allow_redirects=False,
            timeout=TIMEOUT,
        )
        for browser, token in browsers
    ]
    answers = all_at_once(calls)

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [302] + [422] * (REQUESTS - 1), (statuses, _log_tail(tmp_path))
    for answer in answers:
        if answer.status_code == 422:
            assert f'id="{field_id}-error"' in answer.text, answer.text
    assert count(world) == 1


def test_a_unique_value_written_past_the_check_is_the_conflict_of_the_check(app, factory):
    """The translation itself, without a race: rows written straight past the services' checks."""
    provider, admin, _operator = factory.make_provider()
    sme = factory.make_org(kind=OrgKind.sme)
    factory.make_partnership(provider, sme)
    today = date.today()
    duplicates = {
        "email": User(email=admin.email, name="重复", role=Role.member, organization_id=sme.id, password_hash="x"),
        "credit_code": Organization(
            name="重复", kind=OrgKind.sme, city="430200", industry="other", credit_code=provider.credit_code
        ),
        "sme_id": Partnership(provider_id=provider.id, sme_id=sme.id, started_on=today, cooperation=[]),
    }
    for field, row in duplicates.items():
        db.session.add(row)
        with pytest.raises(Conflict) as refused:
            db.session.flush()
        db.session.rollback()
        assert refused.value.code == "conflict" and list(refused.value.fields) == [field]
        # The session is usable again after the rollback.
        assert db.session.get(Organization, provider.id).credit_code == provider.credit_code
    # Other unique constraints are the business of the code that writes them: still an IntegrityError.
    due = datetime(2030, 1, 1, tzinfo=UTC)
    db.session.add_all([JobRun(job="race", due_at=due, holder="a"), JobRun(job="race", due_at=due, holder="b")])
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
