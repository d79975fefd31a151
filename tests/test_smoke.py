from datetime import timedelta

from booking.models.enums import OrgKind, Role

from .factories import local, next_weekday


def test_home_page_is_chinese(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "计量" in response.get_data(as_text=True)


def test_member_books_a_free_slot_and_sees_it_pending(api, factory):
    resource = factory.make_resource()
    sme = factory.make_user(factory.make_org(kind=OrgKind.sme), Role.member)
    day = next_weekday(3)
    response = api.as_(sme).post(
        "/bookings",
        json={"resource_id": resource.id, "start": local(day, 9).isoformat(), "end": local(day, 10).isoformat()},
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "pending"
    assert body["start"].endswith("+08:00")
    assert local(day, 10) - local(day, 9) == timedelta(hours=1)
