"""The nightly statistics roll-up (SPEC §5, §6): closed days are summed once, the figures read the sums, and a
later change shows at once — on SQLite and PostgreSQL, and with the roll-up racing real requests."""

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import requests
from sqlalchemy import delete, func, select, update

from booking import database, jobs
from booking.extensions import db
from booking.models import Booking, BookingHistory, RolledDay, UsageRollup
from booking.models.enums import BookingStatus, OrgKind, Role
from booking.services import rollups

from .factories import PASSWORD, TZ, local

S = BookingStatus
MARCH = "from=2026-03-01&to=2026-04-01"
GROUPINGS = ("resource", "organization", "city", "kind", "month")


@pytest.fixture
def w(factory):
    """Two providers in two 市州, three resources, a partner SME and another SME, and bookings on 3, 4 and 5 March
    2026 in every state the sums count."""
    provider, admin, _operator = factory.make_provider()
    other_provider, _a, _o = factory.make_provider(city="430100")
    lathe = factory.make_resource(provider, hourly_fee=100, partner_hourly_fee=60)
    scope = factory.make_resource(provider, capacity=2)
    gauge = factory.make_resource(other_provider, hourly_fee=50, partner_hourly_fee=50)
    partner, other = factory.make_org(kind=OrgKind.sme), factory.make_org(kind=OrgKind.sme, city="430100")
    factory.make_partnership(provider, partner)
    partner_member, other_member = factory.make_user(partner), factory.make_user(other)
    internal = factory.make_user(provider, Role.member)
    made = []
    for n, day in enumerate((date(2026, 3, 3), date(2026, 3, 4), date(2026, 3, 5))):
        made += [
            factory.make_booking(
                lathe,
                partner_member,
                local(day, 9),
                local(day, 11),
                status=S.completed,
                fee=Decimal("120"),
                hourly_rate=60,
                is_partner=True,
                rating=4,
                checked_in_at=local(day, 9, 20),
                checked_out_at=local(day, 10, 50),
            ),
            factory.make_booking(
                scope,
                other_member,
                local(day, 13),
                local(day, 16),
                status=S.completed,
                fee=Decimal("90.50"),
                rating=5 - n,
            ),
            factory.make_booking(gauge, internal, local(day, 8), status=S.completed),
            factory.make_booking(gauge, other_member, local(day, 10), status=S.no_show),
            factory.make_booking(lathe, other_member, local(day, 14), status=S.cancelled, counts_as_no_show=True),
            factory.make_booking(
                scope,
                partner_member,
                local(day, 17),
                status=S.rejected,
                decided_by_id=admin.id,
                decided_at=local(day, 12),
            ),
        ]

    class World:
        pass

    world = World()
    world.admin, world.lathe, world.scope, world.gauge = admin, lathe, scope, gauge
    world.partner, world.partner_member, world.other_member = partner, partner_member, other_member
    world.province = factory.make_user(role=Role.province_reviewer)
    world.bookings = made
    return world


def figures(api, user, query: str = MARCH) -> dict:
    """Every grouping's answer for ``query``."""
    answers = {}
    for group_by in GROUPINGS:
        response = api.as_(user).get(f"/stats/usage?{query}&group_by={group_by}")
        assert response.status_code == 200, response.get_json()
        answers[group_by] = response.get_json()
    return answers


def live_figures(api, user, query: str = MARCH) -> dict:
    """The same, with the roll-up dropped: every figure read from the bookings."""
    rollups.forget()
    db.session.commit()
    return figures(api, user, query)


def roll_up(now: datetime, *, afresh: bool = False) -> dict:
    """The nightly job as the scheduler runs it (its transactions take SQLite's write lock from their start);
    ``afresh``: the roll-up dropped first, so every closed day is summed again."""
    db.session.commit()  # end any read: the roll-up's transactions begin with the write lock
    token = database.write_intent.set(True)
    try:
        if afresh:
            rollups.forget()
            db.session.commit()
        return jobs.roll_up_statistics(now)
    finally:
        database.write_intent.reset(token)


def rows() -> dict:
    db.session.expire_all()
    return {(r.resource_id, r.day): r for r in db.session.scalars(select(UsageRollup))}


def test_each_closed_day_is_rolled_up_once_and_the_figures_do_not_change(api, w):
    before = figures(api, w.province)
    assert before["month"]["totals"]["requests"] == 18

    done = roll_up(local(date(2026, 3, 5), 2))  # the night of the 5th: the 3rd and 4th are closed
    assert done == {"days": 2, "rows": 6, "resummed": 0}
    assert set(db.session.scalars(select(RolledDay.day))) == {date(2026, 3, 3), date(2026, 3, 4)}
    assert {key for key, row in rows().items() if not row.stale} == {
        (r.id, d) for r in (w.lathe, w.scope, w.gauge) for d in (date(2026, 3, 3), date(2026, 3, 4))
    }
    lathe = rows()[(w.lathe.id, date(2026, 3, 4))]
    assert (lathe.requests, lathe.no_shows, lathe.rated_4, lathe.revenue_cents) == (2, 1, 1, 12000)
    assert lathe.effective_seconds == pytest.approx(90 * 60) and not lathe.stale
    assert figures(api, w.province) == before

    assert roll_up(local(date(2026, 3, 5), 3))["days"] == 0  # the same night again: nothing new
    done = roll_up(local(date(2026, 3, 9), 2))  # a scheduler down for three nights catches up
    assert done["days"] == 4 and date(2026, 3, 8) in set(db.session.scalars(select(RolledDay.day)))
    assert figures(api, w.province) == before


def test_the_figures_of_rolled_days_are_read_from_the_rows(api, w):
    roll_up(local(date(2026, 3, 10), 2))
    exact = figures(api, w.province)["month"]["totals"]["requests"]
    # A row altered behind the platform's back shows that the figures come from it, not from the bookings ...
    db.session.execute(
        update(UsageRollup).where(UsageRollup.day == date(2026, 3, 4)).values(requests=UsageRollup.requests + 100)
    )
    db.session.commit()
    assert figures(api, w.province)["month"]["totals"]["requests"] == exact + 300
    # ... except on a day the period only partly covers, which is read from the bookings.
    partial = "from=2026-03-04T00:00:01%2B08:00&to=2026-03-06"
    assert figures(api, w.province, partial)["month"]["totals"]["requests"] == 12
    # A change to one of that day's bookings makes its row stale: read from the bookings at once, re-summed tonight.
    rated = next(b for b in w.bookings if b.resource_id == w.lathe.id and b.start.date() == date(2026, 3, 4))
    assert api.as_(w.partner_member).post(f"/bookings/{rated.id}/rating", json={"score": 2}).status_code == 200
    assert rows()[(w.lathe.id, date(2026, 3, 4))].stale
    assert figures(api, w.province)["month"]["totals"]["requests"] == exact + 200
    # A stale row of a day the period only partly covers is read once, with that day's other bookings.
    assert figures(api, w.province, partial)["month"]["totals"]["requests"] == 12
    assert roll_up(local(date(2026, 3, 11), 2))["resummed"] == 1
    assert rows()[(w.lathe.id, date(2026, 3, 4))].requests == 2


def test_later_changes_show_at_once_and_match_the_figures_read_live(api, factory, w):
    before = figures(api, w.province)
    roll_up(local(date(2026, 3, 10), 2))
    as_partner = api.as_(w.partner_member)
    lathe_day_3 = w.bookings[0]
    # A rating changed after the roll-up.
    assert as_partner.post(f"/bookings/{lathe_day_3.id}/rating", json={"score": 1}).status_code == 200
    # A check-out recorded late: the booking's effective hours are the new span.
    late = factory.make_booking(
        w.gauge, w.other_member, local(date(2026, 3, 4), 15), status=S.in_use, checked_in_at=local(date(2026, 3, 4), 15)
    )
    roll_up(local(date(2026, 3, 11), 2))  # rolled up while still in use
    booking = db.session.get(Booking, late.id)
    booking.status, booking.checked_out_at = S.completed, local(date(2026, 3, 4), 18)
    # A fee the savings are computed with, and an SME that is now a lead enterprise.
    w.lathe.hourly_fee = Decimal("110")
    w.partner.kind = OrgKind.lead_enterprise
    db.session.commit()
    # The booking that was no show is deleted outright (an administrator's correction).
    db.session.execute(delete(BookingHistory).where(BookingHistory.booking_id == w.bookings[3].id))
    db.session.delete(db.session.get(Booking, w.bookings[3].id))
    db.session.commit()

    after = figures(api, w.province)
    totals, was = after["month"]["totals"], before["month"]["totals"]
    assert totals["satisfaction"]["counts"]["1"] == was["satisfaction"]["counts"]["1"] + 1
    assert totals["effective_hours"] == pytest.approx(was["effective_hours"] + 3)
    assert totals["sme_savings"] == pytest.approx(was["sme_savings"] + 3 * 10 * 2)  # 3 bookings × 2 h × 10 CNY
    assert totals["sme_hours"] < was["sme_hours"] and totals["no_shows"] == was["no_shows"] - 1
    assert after == live_figures(api, w.province)


def test_a_day_not_yet_ended_is_not_rolled_up_and_a_new_booking_counts(api, factory, w):
    now = datetime.now(UTC)
    today = now.astimezone(TZ).date()
    earlier = factory.make_booking(w.gauge, w.other_member, now - timedelta(minutes=2), status=S.in_use)
    done = roll_up(now + timedelta(days=30))  # a clock ahead of the present does not close today
    assert today not in set(db.session.scalars(select(RolledDay.day)))
    assert today - timedelta(days=1) in set(db.session.scalars(select(RolledDay.day)))
    assert done["days"] > 0
    query = f"from={today}&to={today + timedelta(days=1)}"
    assert figures(api, w.province, query)["month"]["totals"]["requests"] == 1
    factory.make_booking(w.gauge, w.partner_member, now + timedelta(hours=1))
    assert figures(api, w.province, query)["month"]["totals"]["requests"] == 2
    assert earlier.id


def test_ratings_racing_the_roll_up_leave_every_figure_exact(request, api, w):
    """Members rate and re-rate their completed bookings through gunicorn's 4 workers while this process rolls the
    days up again and again: whatever interleaving happened, the figures then read equal those read live."""
    members = (w.partner_member, w.other_member)
    raters = {m.organization_id for m in members}
    rated = [(b.id, b.organization_id) for b in w.bookings if b.status == S.completed and b.organization_id in raters]
    db.session.commit()
    base = request.getfixturevalue("live_server")
    tokens = {}
    for user in (w.partner_member, w.other_member):
        answer = requests.post(
            f"{base}/api/v1/auth/tokens", json={"email": user.email, "password": PASSWORD}, timeout=30
        )
        tokens[user.organization_id] = answer.json()["token"]
    stop, errors = threading.Event(), []

    def rate(booking_id: int, organization_id: int) -> None:
        with requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {tokens[organization_id]}"
            score = 1
            while not stop.is_set():
                answer = session.post(f"{base}/api/v1/bookings/{booking_id}/rating", json={"score": score}, timeout=30)
                if answer.status_code != 200:
                    errors.append(answer.text)
                    return
                score = score % 5 + 1

    threads = [threading.Thread(target=rate, args=pair) for pair in rated]
    for thread in threads:
        thread.start()
    try:
        for night in range(6):
            roll_up(local(date(2026, 3, 10 + night), 2), afresh=True)
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    assert not errors, errors[:3]
    db.session.commit()  # forget what this session read before the server's writes
    assert db.session.scalar(select(func.count()).select_from(RolledDay)) > 0
    assert figures(api, w.province) == live_figures(api, w.province)
