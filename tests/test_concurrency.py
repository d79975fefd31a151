"""SPEC §2.2, "the capacity rule must hold under concurrency": behind gunicorn with 4 worker processes, 40
simultaneous requests for one slot create exactly ``capacity`` bookings and every other request is answered
``409 conflict`` — on SQLite and on PostgreSQL.

The requests are real HTTP requests from 40 threads released together by a barrier, so the workers race each
other for the same resource exactly as browsers and integrations would.
"""

import threading
from collections import Counter
from datetime import datetime

import pytest
import requests
from sqlalchemy import select

from booking.extensions import db
from booking.models import Booking
from booking.models.enums import ACTIVE_STATUSES, ApprovalPolicy, OrgKind, Role
from booking.services.intervals import overlaps

from .factories import PASSWORD, local, next_weekday

REQUESTS = 40
# Several requesters from several SMEs, so the race is between organizations as it is in production.
SME_ORGS = 4
USERS_PER_ORG = 2
# Generous: with 4 sync workers the 40 requests queue behind each other, and a SQLite writer may wait for the
# write lock.
HTTP_TIMEOUT = 60


def _requesters(factory) -> list:
    users = []
    for _ in range(SME_ORGS):
        org = factory.make_org(kind=OrgKind.sme)
        users.extend(factory.make_user(org, Role.member) for _ in range(USERS_PER_ORG))
    return users


def _sign_in(base: str, users: list) -> list[str]:
    tokens = []
    for user in users:
        credentials = {"email": user.email, "password": PASSWORD}
        response = requests.post(f"{base}/api/v1/auth/tokens", json=credentials, timeout=HTTP_TIMEOUT)
        assert response.status_code == 201, response.text
        tokens.append(response.json()["token"])
    return tokens


def _fire_together(
    base: str, tokens: list[str], bodies: list[dict], headers: dict | None = None
) -> list[requests.Response]:
    """POST every body to /bookings from its own thread, all released at the same instant; request ``i`` is
    made with ``tokens[i % len(tokens)]`` (and ``headers``). Returns the responses in the order of ``bodies``."""
    barrier = threading.Barrier(len(bodies))
    responses: list[requests.Response | None] = [None] * len(bodies)
    errors: list[BaseException] = []

    def send(i: int, body: dict) -> None:
        try:
            with requests.Session() as session:
                session.headers.update(headers or {})
                session.headers["Authorization"] = f"Bearer {tokens[i % len(tokens)]}"
                barrier.wait(timeout=HTTP_TIMEOUT)
                responses[i] = session.post(f"{base}/api/v1/bookings", json=body, timeout=HTTP_TIMEOUT)
        except BaseException as exc:
            # A thread's exception would only be printed; keep it for the main thread, where pytest sees it.
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(i, body)) for i, body in enumerate(bodies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HTTP_TIMEOUT * 2)
    assert not errors, errors
    assert all(r is not None for r in responses), "a request thread did not finish"
    return responses


def _log_tail(tmp_path) -> str:
    """The end of the server's log (written by the ``live_server`` fixture): where a 500's traceback is."""
    log = tmp_path / "gunicorn.log"
    return log.read_text(errors="replace")[-3000:] if log.exists() else "(no server log)"


def _outcomes(responses: list[requests.Response], tmp_path) -> Counter:
    """``201`` or ``409 conflict`` are the only acceptable answers; anything else (a 500 from a locked
    database, a 422 from a rule) fails the test with its body and the server's log."""
    outcomes = Counter()
    for response in responses:
        if response.status_code == 201:
            outcomes["created"] += 1
        elif response.status_code == 409 and response.json().get("error", {}).get("code") == "conflict":
            outcomes["conflict"] += 1
        else:
            answer = f"{response.status_code}: {response.text[:500]}"
            pytest.fail(f"unexpected answer {answer}\n{_log_tail(tmp_path)}")
    return outcomes


def _active_spans(resource_id: int) -> list[tuple[datetime, datetime]]:
    # The server wrote these rows in other processes: drop whatever this session cached before reading.
    db.session.remove()
    stmt = select(Booking.start, Booking.end).where(
        Booking.resource_id == resource_id, Booking.status.in_(ACTIVE_STATUSES)
    )
    return [(start, end) for start, end in db.session.execute(stmt)]


def _body(resource_id: int, start: datetime, end: datetime, i: int) -> dict:
    return {"resource_id": resource_id, "start": start.isoformat(), "end": end.isoformat(), "purpose": f"并发测试 {i}"}


@pytest.mark.parametrize("capacity", [1, 3])
def test_simultaneous_requests_for_one_slot_create_exactly_capacity_bookings(request, factory, tmp_path, capacity):
    resource = factory.make_resource(capacity=capacity, approval=ApprovalPolicy.never)
    users = _requesters(factory)
    day = next_weekday(3)
    start, end = local(day, 9), local(day, 10)
    # Requested only now, so the server starts after the data above is committed.
    base = request.getfixturevalue("live_server")
    tokens = _sign_in(base, users)

    responses = _fire_together(base, tokens, [_body(resource.id, start, end, i) for i in range(REQUESTS)])

    outcomes = _outcomes(responses, tmp_path)
    assert outcomes == {"created": capacity, "conflict": REQUESTS - capacity}, _log_tail(tmp_path)
    created = [r.json() for r in responses if r.status_code == 201]
    assert all(b["status"] == "approved" for b in created)
    assert len({b["id"] for b in created}) == capacity
    assert _active_spans(resource.id) == [(start, end)] * capacity


def test_simultaneous_requests_for_overlapping_slots_never_double_book(request, factory, tmp_path):
    resource = factory.make_resource(capacity=1, approval=ApprovalPolicy.never)
    users = _requesters(factory)
    day = next_weekday(3)
    early = (local(day, 9), local(day, 10))
    late = (local(day, 9, 30), local(day, 10, 30))
    base = request.getfixturevalue("live_server")
    tokens = _sign_in(base, users)

    # Interleaved, so both shapes of the slot are in flight in every worker at once.
    bodies = [_body(resource.id, *(early if i % 2 == 0 else late), i) for i in range(REQUESTS)]
    responses = _fire_together(base, tokens, bodies)

    outcomes = _outcomes(responses, tmp_path)
    spans = _active_spans(resource.id)
    for i, a in enumerate(spans):
        for b in spans[i + 1 :]:
            assert not overlaps(*a, *b), f"two active bookings overlap: {a} and {b}"
    # The two slots overlap, so whichever is first takes the unit and every other request conflicts.
    assert outcomes == {"created": 1, "conflict": REQUESTS - 1}, _log_tail(tmp_path)
    assert len(spans) == 1 and spans[0] in (early, late)
