"""The rules for a new booking (SPEC §2.2), each through ``POST /api/v1/bookings`` with its status and code,
their order, datasets, auto-approval and fees (SPEC §2, §2.1)."""

from datetime import UTC, datetime, timedelta

import pytest

from booking.extensions import db
from booking.models.enums import ApprovalPolicy, BookingStatus, OrgKind, PartnershipStatus, ResourceStatus

from .booking_checks import assert_error, at, booking_body, counted_statements
from .factories import TZ, local, next_weekday

ALL_DAY = [(d, 0, 1440) for d in range(7)]
WITH_LUNCH_BREAK = [(d, 480, 720) for d in range(7)] + [(d, 780, 1020) for d in range(7)]


@pytest.fixture
def provider(factory):
    """(organization, org_admin, operator) of a lead enterprise."""
    return factory.make_provider()


@pytest.fixture
def sme(factory):
    return factory.make_org(kind=OrgKind.sme)


@pytest.fixture
def member(factory, sme):
    return factory.make_user(sme)


@pytest.fixture
def booker(api, member):
    return api.as_(member)


@pytest.fixture
def day():
    return next_weekday(3)


def today():
    return datetime.now(TZ).date()


def no_show(factory, resource, user, days_ago: float, **fields):
    """A past booking of ``user``'s organization that counts as a no-show."""
    start = datetime.now(UTC) - timedelta(days=days_ago)
    fields.setdefault("status", BookingStatus.no_show)
    if fields["status"] == BookingStatus.cancelled:
        fields.setdefault("counts_as_no_show", True)
    return factory.make_booking(resource, user, start, start + timedelta(hours=1), **fields)


def suspend(factory, resource, user):
    for days_ago in (2, 3, 4):
        no_show(factory, resource, user, days_ago)


def refused(client, body, status, code, field=None, case=None):
    return assert_error(client.post("/bookings", json=body), status, code, field, case=case)


def accepted(client, body) -> dict:
    response = client.post("/bookings", json=body)
    assert response.status_code == 201, (body, response.get_json())
    return response.get_json()


# validation_error -------------------------------------------------------------------------------------------


def test_missing_fields_are_a_validation_error_naming_each(factory, provider, booker, day):
    error = refused(booker, {"purpose": "尺寸测量"}, 422, "validation_error")
    assert {"resource_id", "start", "end"} <= set(error["fields"])
    resource = factory.make_resource(provider[0])
    error = refused(booker, {"resource_id": resource.id, "start": at(day, 9)}, 422, "validation_error", "end")
    assert set(error["fields"]) == {"end"}


def test_an_end_not_after_the_start_is_a_validation_error_on_end(factory, provider, booker, day):
    resource = factory.make_resource(provider[0])
    for end in ((9, 0), (8, 30)):
        refused(booker, booking_body(resource, day, 9, end), 422, "validation_error", "end", case=end)


def test_a_resource_that_does_not_exist_is_a_validation_error_on_resource_id(booker, day):
    body = {"resource_id": 987654, "start": at(day, 9), "end": at(day, 10)}
    refused(booker, body, 422, "validation_error", "resource_id")


# resource_unavailable ---------------------------------------------------------------------------------------


def test_a_retired_faulty_or_under_repair_resource_cannot_be_booked_but_a_standby_one_can(
    factory, provider, booker, day
):
    for status in (ResourceStatus.retired, ResourceStatus.faulty, ResourceStatus.under_repair):
        resource = factory.make_resource(provider[0], status=status)
        refused(booker, booking_body(resource, day, 9, 10), 422, "resource_unavailable", "resource_id", status)
    standby = factory.make_resource(provider[0], status=ResourceStatus.standby)
    accepted(booker, booking_body(standby, day, 9, 10))


def test_a_resource_its_owner_deletes_is_retired_and_takes_no_more_bookings(api, factory, provider, booker, day):
    resource = factory.make_resource(provider[0])
    assert api.as_(provider[1]).delete(f"/resources/{resource.id}").status_code == 204
    refused(booker, booking_body(resource, day, 9, 10), 422, "resource_unavailable")


# not_aligned ------------------------------------------------------------------------------------------------


def test_times_off_the_slot_grid_are_not_aligned(factory, provider, booker, day):
    resource = factory.make_resource(provider[0])  # slot_minutes 30
    for start, end, field in (
        ((9, 10), (10, 0), "start"),
        ((9, 0), (10, 10), "end"),
        ((9, 15), (10, 15), "start"),
    ):
        refused(booker, booking_body(resource, day, start, end), 422, "not_aligned", field, case=(start, end))
    seconds = {"resource_id": resource.id, "start": at(day, 9)[:-2] + "30", "end": at(day, 10)}
    refused(booker, seconds, 422, "not_aligned", "start")


def test_the_grid_is_the_resources_own_slot_length_counted_from_local_midnight(factory, provider, booker, day):
    resource = factory.make_resource(provider[0], slot_minutes=60, min_minutes=60)
    refused(booker, booking_body(resource, day, (9, 30), (10, 30)), 422, "not_aligned")
    accepted(booker, booking_body(resource, day, 9, 10))
    # 02:00Z is 10:00 in the platform time zone: on the grid.
    utc = {"resource_id": resource.id, "start": f"{day}T02:00:00Z", "end": f"{day}T03:00:00Z"}
    assert accepted(booker, utc)["start"] == f"{day.isoformat()}T10:00:00+08:00"


def test_dataset_access_not_starting_and_ending_at_local_midnight_is_not_aligned(factory, provider, booker, day):
    dataset = factory.make_resource(provider[0], kind="dataset")
    for start, end, field in (((9, 0), (24, 0), "start"), ((0, 0), (12, 0), "end")):
        refused(booker, booking_body(dataset, day, start, end), 422, "not_aligned", field, case=(start, end))


# too_short / too_long ---------------------------------------------------------------------------------------


def test_a_booking_shorter_than_min_minutes_is_too_short(factory, provider, booker, day):
    resource = factory.make_resource(provider[0], min_minutes=60)
    refused(booker, booking_body(resource, day, 9, (9, 30)), 422, "too_short")
    accepted(booker, booking_body(resource, day, 9, 10))


def test_a_booking_longer_than_max_minutes_is_too_long(factory, provider, booker, day):
    resource = factory.make_resource(provider[0])  # max_minutes 480
    refused(booker, booking_body(resource, day, 8, (16, 30)), 422, "too_long")
    accepted(booker, booking_body(resource, day, 8, 16))


# too_soon / too_far -----------------------------------------------------------------------------------------


def test_a_start_within_the_notice_period_or_in_the_past_is_too_soon(factory, provider, booker):
    resource = factory.make_resource(provider[0], lead_hours=72)
    tomorrow, yesterday = today() + timedelta(days=1), today() - timedelta(days=1)
    refused(booker, booking_body(resource, tomorrow, 10, 11), 422, "too_soon", "start")
    refused(booker, booking_body(resource, yesterday, 10, 11), 422, "too_soon", "start")


def test_a_start_beyond_the_horizon_is_too_far(factory, provider, booker):
    resource = factory.make_resource(provider[0], horizon_days=10)
    refused(booker, booking_body(resource, today() + timedelta(days=12), 10, 11), 422, "too_far", "start")
    accepted(booker, booking_body(resource, today() + timedelta(days=8), 10, 11))


# outside_opening_hours --------------------------------------------------------------------------------------


def test_a_booking_not_inside_the_opening_hours_is_refused(factory, provider, booker, day):
    resource = factory.make_resource(provider[0])  # 08:00–20:00 every day
    for start, end in (((7, 0), (9, 0)), ((19, 30), (20, 30)), ((6, 0), (7, 0))):
        refused(booker, booking_body(resource, day, start, end), 422, "outside_opening_hours", case=(start, end))
    accepted(booker, booking_body(resource, day, 8, 9))
    accepted(booker, booking_body(resource, day, 19, 20))


def test_a_booking_must_fit_one_opening_interval_not_span_two(factory, provider, booker, day):
    resource = factory.make_resource(provider[0], opening_hours=WITH_LUNCH_BREAK)
    refused(booker, booking_body(resource, day, 11, 14), 422, "outside_opening_hours")
    accepted(booker, booking_body(resource, day, 8, 12))
    accepted(booker, booking_body(resource, day, 13, 17))


def test_a_day_without_opening_hours_takes_no_bookings(factory, provider, booker):
    resource = factory.make_resource(provider[0], opening_hours=[(d, 480, 1200) for d in range(5)])
    refused(booker, booking_body(resource, next_weekday(3, weekday=6), 9, 10), 422, "outside_opening_hours")


def test_a_booking_across_midnight_spans_two_days_intervals_even_when_open_all_day(factory, provider, booker, day):
    resource = factory.make_resource(provider[0], opening_hours=ALL_DAY)
    body = {"resource_id": resource.id, "start": at(day, 23), "end": at(day + timedelta(days=1), 1)}
    refused(booker, body, 422, "outside_opening_hours")


# blackout ---------------------------------------------------------------------------------------------------


def test_a_booking_overlapping_a_blackout_is_refused_and_one_touching_it_is_not(api, factory, provider, booker, day):
    resource = factory.make_resource(provider[0])
    blackout = {"start": at(day, 10), "end": at(day, 12), "reason": "maintenance", "note": "保养"}
    assert api.as_(provider[2]).post(f"/resources/{resource.id}/blackouts", json=blackout).status_code == 201
    refused(booker, booking_body(resource, day, 11, (11, 30)), 422, "blackout")
    refused(booker, booking_body(resource, day, 9, 13), 422, "blackout")
    accepted(booker, booking_body(resource, day, 12, 13))
    accepted(booker, booking_body(resource, day, 9, 10))


# calibration_expired ----------------------------------------------------------------------------------------


def test_a_certificate_valid_until_before_the_bookings_last_day_refuses_it(factory, provider, booker, day):
    expired = factory.make_resource(provider[0], certificate_valid_until=day - timedelta(days=1))
    refused(booker, booking_body(expired, day, 9, 10), 422, "calibration_expired")
    valid = factory.make_resource(provider[0], certificate_valid_until=day)
    accepted(booker, booking_body(valid, day, 9, 10))


def test_a_booking_ending_at_midnight_after_the_last_valid_day_is_fine(factory, provider, booker, day):
    resource = factory.make_resource(provider[0], certificate_valid_until=day, opening_hours=ALL_DAY)
    accepted(booker, booking_body(resource, day, 22, 24))
    refused(booker, booking_body(resource, day + timedelta(days=1), 0, 1), 422, "calibration_expired")


def test_the_calibration_rule_concerns_instruments_and_standards_only(factory, provider, booker, day):
    expired = day - timedelta(days=5)
    standard = factory.make_resource(provider[0], kind="standard", certificate_valid_until=expired)
    refused(booker, booking_body(standard, day, 9, 10), 422, "calibration_expired")
    lab = factory.make_resource(provider[0], kind="lab", certificate_valid_until=expired)
    accepted(booker, booking_body(lab, day, 9, 10))
    dataset = factory.make_resource(provider[0], kind="dataset", certificate_valid_until=expired)
    accepted(booker, {"resource_id": dataset.id, "start": at(day, 0), "end": at(day + timedelta(days=2), 0)})


# suspended --------------------------------------------------------------------------------------------------


def test_three_no_shows_in_ninety_days_suspend_the_organization(factory, provider, member, booker, day):
    resource = factory.make_resource(provider[0])
    no_show(factory, resource, member, 5)
    no_show(factory, resource, member, 30)
    no_show(factory, resource, member, 80, status=BookingStatus.cancelled)  # a late requester cancellation
    error = refused(booker, booking_body(resource, day, 9, 10), 403, "suspended")
    assert error["fields"] == {}


def test_the_suspension_holds_for_every_member_and_every_resource(api, factory, provider, sme, member, day):
    resource = factory.make_resource(provider[0])
    other_resource = factory.make_resource(factory.make_org(kind=OrgKind.metrology_institute))
    suspend(factory, resource, member)
    colleague = api.as_(factory.make_user(sme))
    refused(colleague, booking_body(other_resource, day, 9, 10), 403, "suspended")


def test_the_suspension_ends_when_the_oldest_no_show_started_ninety_days_ago(factory, provider, member, booker, day):
    resource = factory.make_resource(provider[0])
    no_show(factory, resource, member, 91)
    no_show(factory, resource, member, 10)
    no_show(factory, resource, member, 20, status=BookingStatus.cancelled)
    accepted(booker, booking_body(resource, day, 9, 10))


def test_cancellations_that_do_not_count_and_other_organizations_no_shows_do_not_suspend(
    factory, provider, member, booker, day
):
    resource = factory.make_resource(provider[0])
    no_show(factory, resource, member, 5)
    no_show(factory, resource, member, 6)
    cancelled = dict(status=BookingStatus.cancelled, counts_as_no_show=False)
    no_show(factory, resource, member, 7, cancelled_by_owner=True, **cancelled)
    no_show(factory, resource, member, 8, **cancelled)
    suspend(factory, resource, factory.make_user(factory.make_org()))
    accepted(booker, booking_body(resource, day, 9, 10))


# conflict ---------------------------------------------------------------------------------------------------


def test_an_overlapping_request_on_a_booked_slot_is_a_conflict(factory, provider, booker, api, day):
    resource = factory.make_resource(provider[0])
    assert accepted(booker, booking_body(resource, day, 9, 10))["status"] == "pending"  # pending holds capacity
    other = api.as_(factory.make_user(factory.make_org()))
    refused(other, booking_body(resource, day, (9, 30), (10, 30)), 409, "conflict")
    refused(other, booking_body(resource, day, 8, 11), 409, "conflict")
    accepted(other, booking_body(factory.make_resource(provider[0]), day, 9, 10))  # another resource


def test_back_to_back_bookings_do_not_overlap(factory, provider, booker, day):
    resource = factory.make_resource(provider[0])
    for start, end in ((9, 10), (10, 11), (8, 9)):
        accepted(booker, booking_body(resource, day, start, end))


def test_capacity_two_takes_two_overlapping_bookings_and_refuses_the_third(factory, provider, booker, day):
    resource = factory.make_resource(provider[0], capacity=2)
    accepted(booker, booking_body(resource, day, 9, 11))
    accepted(booker, booking_body(resource, day, 10, 12))
    refused(booker, booking_body(resource, day, (10, 30), 11), 409, "conflict")


def test_capacity_counts_bookings_overlapping_at_one_instant_not_all_that_meet_the_span(factory, provider, booker, day):
    resource = factory.make_resource(provider[0], capacity=2)
    accepted(booker, booking_body(resource, day, 9, 10))
    accepted(booker, booking_body(resource, day, 11, 12))
    # Three bookings meet 09:00–12:00, but never more than two at once.
    accepted(booker, booking_body(resource, day, 9, 12))
    refused(booker, booking_body(resource, day, (9, 30), (10, 30)), 409, "conflict")


def test_only_active_bookings_hold_capacity(factory, provider, member, api, day):
    resource = factory.make_resource(provider[0])
    S = BookingStatus
    for hour, status in enumerate((S.cancelled, S.rejected, S.expired, S.completed, S.no_show), start=9):
        factory.make_booking(resource, member, local(day, hour), local(day, hour + 1), status=status)
    factory.make_booking(resource, member, local(day, 15), local(day, 16), status=S.approved)
    factory.make_booking(resource, member, local(day, 17), local(day, 18), status=S.in_use)
    other = api.as_(factory.make_user(factory.make_org()))
    accepted(other, booking_body(resource, day, 9, 14))
    for start in (15, 17):
        refused(other, booking_body(resource, day, start, start + 1), 409, "conflict", case=start)


# The order of the rules -------------------------------------------------------------------------------------


def test_a_request_breaking_two_rules_reports_the_earlier_one(api, factory, provider, member, booker, day):
    staff = api.as_(provider[2])

    def blackout(start, end):
        return lambda r: staff.post(
            f"/resources/{r.id}/blackouts",
            json={"start": at(day, start), "end": at(day, end), "reason": "other"},
        )

    expired = dict(certificate_valid_until=day - timedelta(days=1))
    month = dict(lead_hours=24 * 30)
    cases = [
        # (resource fields, setup, start, end, the code reported)
        (dict(status=ResourceStatus.retired), None, (10, 0), (9, 0), "validation_error"),
        (dict(status=ResourceStatus.faulty), None, (9, 10), (10, 0), "resource_unavailable"),
        (dict(min_minutes=60), None, (9, 10), (9, 40), "not_aligned"),
        (dict(min_minutes=60, **month), None, (9, 0), (9, 30), "too_short"),
        (month, None, (8, 0), (17, 0), "too_long"),
        (month, None, (6, 0), (7, 0), "too_soon"),
        ({}, blackout(6, 10), (7, 0), (8, 30), "outside_opening_hours"),
        (expired, blackout(8, 10), (9, 0), (10, 0), "blackout"),
        # From here on the requester's organization is suspended.
        (expired, lambda r: suspend(factory, r, member), (9, 0), (10, 0), "calibration_expired"),
        (
            {},
            lambda r: factory.make_booking(r, provider[1], local(day, 9), local(day, 10)),
            (9, 0),
            (10, 0),
            "suspended",
        ),
    ]
    for fields, setup, start, end, code in cases:
        resource = factory.make_resource(provider[0], **fields)
        if setup is not None:
            setup(resource)
        status = 403 if code == "suspended" else 422
        refused(booker, booking_body(resource, day, start, end), status, code, case=(code, fields, start, end))


def test_what_the_rules_read_of_the_database_comes_in_one_statement_whatever_is_there(
    app, api, factory, provider, member, booker, day
):
    """A blackout elsewhere that day, a no-show of the requester's organization and bookings beside and across the
    requested hour change what the rules read, never how: one statement reads the blackouts, the no-shows and the
    overlapping bookings, after the resource's lock, and the request takes as many statements as on an empty day."""
    staff = api.as_(provider[2])
    quiet, busy = (factory.make_resource(provider[0], capacity=3) for _ in range(2))
    other = factory.make_user(factory.make_org(kind=OrgKind.sme))
    for hour in (8, 9, 9):  # one ends as the request starts; two overlap it, leaving one place
        factory.make_booking(busy, other, local(day, hour), local(day, hour + 1))
    closed = {"start": at(day, 14), "end": at(day, 15), "reason": "other"}
    assert staff.post(f"/resources/{busy.id}/blackouts", json=closed).status_code == 201
    no_show(factory, busy, member, 5)
    counts = []
    for resource in (quiet, busy):
        with counted_statements(app) as statements:
            accepted(booker, booking_body(resource, day, 9, 10))
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    reads = [s for s in statements if s.startswith("SELECT") and ("blackouts" in s or "counts_as_no_show" in s)]
    assert len(reads) == 1 and "counts_as_no_show" in reads[0] and "blackouts" in reads[0], reads
    locked = next(i for i, s in enumerate(statements) if "FROM resources" in s)
    assert statements.index(reads[0]) > locked
    # The rules still see each of them: the last place goes, then the closure and the suspension refuse.
    refused(booker, booking_body(busy, day, 9, 10), 409, "conflict")
    refused(booker, booking_body(busy, day, 14, 15), 422, "blackout")
    suspend(factory, busy, member)
    refused(booker, booking_body(busy, day, 11, 12), 403, "suspended")


# Datasets ---------------------------------------------------------------------------------------------------


def test_dataset_access_is_booked_in_whole_days_beyond_opening_hours_and_duration_limits(
    factory, provider, booker, day
):
    dataset = factory.make_resource(provider[0], kind="dataset")  # opening 08–20, max_minutes 480
    end_day = day + timedelta(days=3)
    booking = accepted(booker, {"resource_id": dataset.id, "start": at(day, 0), "end": at(end_day, 0)})
    assert booking["start"] == f"{day.isoformat()}T00:00:00+08:00"
    assert booking["end"] == f"{end_day.isoformat()}T00:00:00+08:00"


def test_dataset_access_has_no_capacity_limit(api, factory, provider, day):
    dataset = factory.make_resource(provider[0], kind="dataset")
    body = {"resource_id": dataset.id, "start": at(day, 0), "end": at(day + timedelta(days=1), 0)}
    for _ in range(3):
        accepted(api.as_(factory.make_user(factory.make_org())), body)


def test_dataset_access_needs_notice_respects_the_horizon_and_follows_the_approval_setting(
    factory, provider, booker, day
):
    dataset = factory.make_resource(provider[0], kind="dataset", horizon_days=30, approval=ApprovalPolicy.never)
    for first, code in ((today() + timedelta(days=1), "too_soon"), (today() + timedelta(days=40), "too_far")):
        body = {"resource_id": dataset.id, "start": at(first, 0), "end": at(first + timedelta(days=1), 0)}
        refused(booker, body, 422, code)
    body = {"resource_id": dataset.id, "start": at(day, 0), "end": at(day + timedelta(days=1), 0)}
    assert accepted(booker, body)["status"] == "approved"


# Auto-approval and fees -------------------------------------------------------------------------------------


def test_approval_always_leaves_the_request_pending_without_a_fee(factory, provider, member, booker, day):
    resource = factory.make_resource(provider[0])
    booking = accepted(booker, booking_body(resource, day, 9, 10, purpose="三坐标测量", sample_description="壳体"))
    assert (booking["status"], booking["fee"], booking["decided_at"]) == ("pending", None, None)
    assert booking["requester_id"] == member.id and booking["organization_id"] == member.organization_id
    assert (booking["start"], booking["end"]) == (f"{day}T09:00:00+08:00", f"{day}T10:00:00+08:00")
    assert (booking["purpose"], booking["sample_description"]) == ("三坐标测量", "壳体")


def test_approval_never_approves_at_once_and_fixes_the_fee(factory, provider, booker, day):
    resource = factory.make_resource(provider[0], approval=ApprovalPolicy.never, hourly_fee=100)
    booking = accepted(booker, booking_body(resource, day, 9, 11))
    assert (booking["status"], booking["fee"]) == ("approved", 200.0)
    assert booking["decided_at"] is not None


def test_non_partners_approval_approves_a_partner_sme_at_once_at_the_partner_fee(factory, provider, sme, booker, day):
    resource = factory.make_resource(
        provider[0], approval=ApprovalPolicy.non_partners, hourly_fee=100, partner_hourly_fee=60
    )
    factory.make_partnership(provider[0], sme)
    booking = accepted(booker, booking_body(resource, day, 9, 11))
    assert (booking["status"], booking["fee"]) == ("approved", 120.0)


def test_non_partners_approval_leaves_everyone_but_a_current_partner_pending(api, factory, provider, day):
    resource = factory.make_resource(provider[0], approval=ApprovalPolicy.non_partners)
    no_partnership = factory.make_org()
    factory.make_partnership(provider[0], factory.make_org())  # someone else's partnership
    ended = factory.make_org()
    factory.make_partnership(provider[0], ended).status = PartnershipStatus.ended
    db.session.commit()
    with_another_provider = factory.make_org()
    factory.make_partnership(factory.make_org(kind=OrgKind.testing_center), with_another_provider)
    for hour, org in enumerate((no_partnership, ended, with_another_provider), start=9):
        client = api.as_(factory.make_user(org))
        assert accepted(client, booking_body(resource, day, hour, hour + 1))["status"] == "pending", org


def test_a_partner_sme_approved_by_staff_pays_the_partner_fee(api, factory, provider, sme, booker, day):
    resource = factory.make_resource(provider[0], hourly_fee=100, partner_hourly_fee=60)
    factory.make_partnership(provider[0], sme)
    booking = accepted(booker, booking_body(resource, day, 9, (10, 30)))
    approved = api.as_(provider[2]).post(f"/bookings/{booking['id']}/approve", json={})
    assert approved.status_code == 200
    assert approved.get_json()["fee"] == 90.0


def test_an_organization_that_is_not_a_partner_sme_pays_the_hourly_fee(api, factory, provider, day):
    resource = factory.make_resource(provider[0], approval=ApprovalPolicy.never, hourly_fee=100, partner_hourly_fee=60)
    other_lead = factory.make_org(kind=OrgKind.lead_enterprise)
    assert accepted(api.as_(factory.make_user(other_lead)), booking_body(resource, day, 9, 12))["fee"] == 300.0


def test_the_owners_own_bookings_are_free(api, factory, provider, day):
    resource = factory.make_resource(provider[0], approval=ApprovalPolicy.never, hourly_fee=100)
    booking = accepted(api.as_(factory.make_user(provider[0])), booking_body(resource, day, 9, 12))
    assert (booking["status"], booking["fee"]) == ("approved", 0.0)
    pending = factory.make_resource(provider[0], hourly_fee=100)
    requested = accepted(api.as_(provider[1]), booking_body(pending, day, 9, 12))
    approved = api.as_(provider[2]).post(f"/bookings/{requested['id']}/approve", json={}).get_json()
    assert approved["fee"] == 0.0


def test_the_fee_is_fixed_when_approved_not_when_requested_nor_later(api, factory, provider, sme, booker, day):
    resource = factory.make_resource(provider[0], hourly_fee=100, partner_hourly_fee=60)
    partnership = factory.make_partnership(provider[0], sme)
    booking = accepted(booker, booking_body(resource, day, 9, 11))
    partnership.status = PartnershipStatus.ended
    db.session.commit()
    approved = api.as_(provider[2]).post(f"/bookings/{booking['id']}/approve", json={}).get_json()
    assert approved["fee"] == 200.0
    assert api.as_(provider[1]).patch(f"/resources/{resource.id}", json={"hourly_fee": 500}).status_code == 200
    assert booker.get(f"/bookings/{booking['id']}").get_json()["fee"] == 200.0
