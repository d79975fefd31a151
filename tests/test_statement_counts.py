"""Pages and API answers whose number of SQL statements does not grow with what they show (SPEC §8, §3)."""

from datetime import UTC, datetime, timedelta

from booking.models.enums import BookingStatus, OrgKind, Role

from .booking_checks import counted_statements
from .factories import local, next_weekday
from .pages import sign_in


def _count(app, client, path, headers=None) -> tuple[int, list[str]]:
    with counted_statements(app) as statements:
        response = client.get(path, headers=headers or {})
    assert response.status_code == 200, response.status_code
    return len(statements), list(statements)


def test_approvals_page_reads_partnerships_once_whatever_the_number_of_pending_bookings(app, factory):
    provider, _admin, operator = factory.make_provider()
    resource = factory.make_resource(provider, name="环境试验箱")
    day = next_weekday(3)
    now = datetime.now(UTC)

    def pending_from(n: int, partner: bool):
        sme = factory.make_org(kind=OrgKind.sme, name=f"企业{n}")
        if partner:
            factory.make_partnership(provider, sme)
        member = factory.make_user(sme, Role.member)
        factory.make_booking(
            resource,
            member,
            local(day + timedelta(days=n), 9),
            status=BookingStatus.pending,
            created_at=now - timedelta(hours=10 - n),
            purpose=f"第{n}单",
        )

    pending_from(0, partner=True)
    client = sign_in(app, operator)
    one, _ = _count(app, client, "/approvals")
    for n in range(1, 6):
        pending_from(n, partner=n % 2 == 0)
    six, statements = _count(app, client, "/approvals")
    assert six == one, statements
    html = client.get("/approvals").get_data(as_text=True)
    assert all(f"第{n}单" in html for n in range(6))
    assert html.count("badge good") == 3  # the partners: 0, 2 and 4


def test_one_booking_by_the_api_reads_the_booking_once(app, factory, api):
    provider, admin, _operator = factory.make_provider()
    resource = factory.make_resource(provider)
    member = factory.make_user(factory.make_org(kind=OrgKind.sme), Role.member)
    booking = factory.make_booking(resource, member, local(next_weekday(3), 9))
    client = api.as_(member)
    headers = {"Authorization": f"Bearer {client.token}"}
    path = f"/api/v1/bookings/{booking.id}"
    _n, statements = _count(app, client.client, path, headers)
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT") and "FROM bookings" in s]
    assert len(reads) == 1, reads
    body = client.get(f"/bookings/{booking.id}").get_json()
    assert body["resource"]["id"] == resource.id and [h["to"] for h in body["history"]] == ["approved"]


def test_a_first_page_reads_its_rows_and_its_total_in_one_statement(app, factory, api):
    provider, _admin, _operator = factory.make_provider()
    resource = factory.make_resource(provider)
    member = factory.make_user(factory.make_org(kind=OrgKind.sme), Role.member)
    day = next_weekday(3)
    for n in range(5):
        factory.make_booking(resource, member, local(day + timedelta(days=n), 9))
    client = api.as_(member)
    headers = {"Authorization": f"Bearer {client.token}"}
    listing = f"/api/v1/bookings?resource_id={resource.id}"
    # (page, per_page): statements that read bookings, items, total. A first page takes its total along; a later
    # one counts apart only when it is full or past the end.
    expected = {(1, 2): (1, 2), (1, 10): (1, 5), (2, 2): (2, 2), (3, 2): (1, 1), (4, 2): (2, 0)}
    for (page, per_page), (reads, items) in expected.items():
        path = f"{listing}&page={page}&per_page={per_page}"
        _n, statements = _count(app, client.client, path, headers)
        reading = [s for s in statements if s.lstrip().upper().startswith("SELECT") and "FROM bookings" in s]
        assert len(reading) == reads, (page, per_page, reading)
        body = client.client.get(path, headers=headers).get_json()
        assert (len(body["items"]), body["total"]) == (items, 5), (page, per_page, body["total"])
    starts = [b["start"] for b in client.client.get(f"{listing}&per_page=10", headers=headers).get_json()["items"]]
    assert starts == sorted(starts)
