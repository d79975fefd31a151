"""Object-level permissions (SPEC §1, §2, §3): who sees which bookings, blackouts and contact details, and who
may change resources, organizations, users and partnerships."""

from datetime import timedelta
from types import SimpleNamespace

import pytest

from booking.models.enums import BookingStatus, OrgKind, Role

from .booking_checks import assert_error, at, booking_body
from .factories import PASSWORD, credit_code, local, next_weekday

CITY_A, CITY_B = "430200", "430100"
PUBLIC_ORG_FIELDS = {"id", "name", "kind", "city", "industry"}
SECRET_PURPOSE = "新型号齿轮箱的保密测量"


@pytest.fixture
def s(factory):
    """Two 市州, each with a provider, its resource, an SME and its booking; a stranger; the regulators."""
    day = next_weekday(3)
    p1, p1_admin, p1_operator = factory.make_provider(city=CITY_A)
    p2, p2_admin, p2_operator = factory.make_provider(city=CITY_B)
    r1, r2 = factory.make_resource(p1), factory.make_resource(p2)
    sme1, sme2 = (
        factory.make_org(kind=OrgKind.sme, city=CITY_A),
        factory.make_org(kind=OrgKind.sme, city=CITY_B),
    )
    m1, m2 = factory.make_user(sme1), factory.make_user(sme2)
    b1 = factory.make_booking(r1, m1, local(day, 9), local(day, 10), purpose=SECRET_PURPOSE)
    b2 = factory.make_booking(r2, m2, local(day, 9), local(day, 10), purpose=SECRET_PURPOSE)
    regulators_a = factory.make_org(kind=OrgKind.regulator, city=CITY_A)
    regulators_b = factory.make_org(kind=OrgKind.regulator, city=CITY_B)
    return SimpleNamespace(
        day=day,
        p1=p1,
        p1_admin=p1_admin,
        p1_operator=p1_operator,
        p2=p2,
        p2_admin=p2_admin,
        p2_operator=p2_operator,
        r1=r1,
        r2=r2,
        sme1=sme1,
        sme2=sme2,
        m1=m1,
        m2=m2,
        b1=b1,
        b2=b2,
        stranger=factory.make_user(factory.make_org(kind=OrgKind.sme, city=CITY_A)),
        city_a=factory.make_user(regulators_a, Role.city_regulator),
        city_b=factory.make_user(regulators_b, Role.city_regulator),
        province=factory.make_user(role=Role.province_reviewer),
    )


def listed_ids(client, query: str = "") -> set[int]:
    response = client.get("/bookings" + query)
    assert response.status_code == 200
    return {b["id"] for b in response.get_json()["items"]}


# Bookings ---------------------------------------------------------------------------------------------------


def test_a_booking_outside_ones_scope_is_not_found_reveals_nothing_and_is_not_listed(api, factory, s):
    provider_member = factory.make_user(s.p1, Role.member)
    for who in (s.stranger, s.p2_operator, s.p2_admin, s.m2, s.city_b, provider_member):
        client = api.as_(who)
        response = client.get(f"/bookings/{s.b1.id}")
        assert_error(response, 404, "not_found", case=who)
        assert SECRET_PURPOSE not in response.get_data(as_text=True)
        assert s.b1.id not in listed_ids(client), who
    assert api.as_(s.stranger).get("/bookings").get_json()["total"] == 0


def test_a_stranger_cannot_act_on_a_booking_it_cannot_see(api, s):
    stranger = api.as_(s.stranger)
    for action in ("approve", "reject", "cancel", "check-in", "check-out", "rating"):
        body = {"score": 1} if action == "rating" else {"note": "试探"}
        assert_error(stranger.post(f"/bookings/{s.b1.id}/{action}", json=body), 404, "not_found", case=action)
    seen = api.as_(s.m1).get(f"/bookings/{s.b1.id}").get_json()
    assert (seen["status"], seen["sequence"]) == ("approved", 1)


def test_the_requesters_organization_sees_its_bookings_and_filters_never_widen_that(api, factory, s):
    colleague = api.as_(factory.make_user(s.sme1))
    assert listed_ids(colleague) == {s.b1.id}
    assert colleague.get(f"/bookings/{s.b1.id}").get_json()["purpose"] == SECRET_PURPOSE
    assert listed_ids(colleague, f"?organization_id={s.sme2.id}") == set()
    assert listed_ids(colleague, f"?resource_id={s.r2.id}") == set()


def test_provider_staff_see_the_bookings_on_their_resources_and_their_own_organizations(api, factory, s):
    elsewhere = factory.make_booking(s.r2, s.p1_admin, local(s.day, 11), local(s.day, 12))
    for who in (s.p1_operator, s.p1_admin):
        client = api.as_(who)
        assert listed_ids(client) == {s.b1.id, elsewhere.id}
        assert client.get(f"/bookings/{s.b1.id}").status_code == 200
        assert listed_ids(client, f"?resource_id={s.r2.id}") == {elsewhere.id}
    assert listed_ids(api.as_(s.p2_operator)) == {s.b2.id, elsewhere.id}


def test_a_city_regulator_sees_its_own_city_and_the_province_reviewer_everything(api, s):
    city_a, city_b, province = api.as_(s.city_a), api.as_(s.city_b), api.as_(s.province)
    assert listed_ids(city_a) == {s.b1.id}
    assert listed_ids(city_b) == {s.b2.id}
    assert city_a.get(f"/bookings/{s.b1.id}").status_code == 200
    assert_error(city_a.get(f"/bookings/{s.b2.id}"), 404, "not_found")
    assert listed_ids(province) == {s.b1.id, s.b2.id}
    assert province.get(f"/bookings/{s.b2.id}").get_json()["purpose"] == SECRET_PURPOSE


def test_regulators_read_bookings_but_cannot_change_or_make_them(api, factory, s):
    pending = factory.make_booking(s.r1, s.m1, local(s.day, 11), local(s.day, 12), status=BookingStatus.pending)
    for who in (s.province, s.city_a):
        client = api.as_(who)
        assert client.get(f"/bookings/{pending.id}").status_code == 200
        for action in ("approve", "reject", "cancel", "check-in", "check-out"):
            response = client.post(f"/bookings/{pending.id}/{action}", json={"note": "监管"})
            assert_error(response, 403, "forbidden", case=(who.role, action))
        assert_error(client.post(f"/bookings/{pending.id}/rating", json={"score": 1}), 403, "forbidden")
        response = client.post("/bookings", json=booking_body(s.r1, s.day, 14, 15))
        assert_error(response, 403, "forbidden", case=who.role)
    seen = api.as_(s.m1).get(f"/bookings/{pending.id}").get_json()
    assert (seen["status"], seen["sequence"]) == ("pending", 1)
    assert api.as_(s.p1_operator).get(f"/bookings?resource_id={s.r1.id}").get_json()["total"] == 2


# Resources and blackouts ------------------------------------------------------------------------------------


def test_blackouts_are_listed_and_changed_by_the_owners_staff_only_others_see_busy_time(api, factory, s):
    body = {"start": at(s.day, 14), "end": at(s.day, 16), "reason": "maintenance", "note": "更换传感器"}
    response = api.as_(s.p1_operator).post(f"/resources/{s.r1.id}/blackouts", json=body)
    assert response.status_code == 201
    blackout = response.get_json()
    for who in (s.p1_operator, s.p1_admin):
        items = api.as_(who).get(f"/resources/{s.r1.id}/blackouts").get_json()["items"]
        assert [(b["reason"], b["note"]) for b in items] == [("maintenance", "更换传感器")]
    other = {"start": at(s.day, 17), "end": at(s.day, 18), "reason": "other"}
    for who in (s.m1, s.p2_admin, s.stranger, s.city_a, s.province, factory.make_user(s.p1, Role.member)):
        client = api.as_(who)
        assert_error(client.get(f"/resources/{s.r1.id}/blackouts"), 403, "forbidden", case=who)
        assert_error(client.post(f"/resources/{s.r1.id}/blackouts", json=other), 403, "forbidden", case=who)
        path = f"/resources/{s.r1.id}/blackouts/{blackout['id']}"
        assert_error(client.delete(path), 403, "forbidden", case=who)
    assert api.as_(s.p1_admin).get(f"/resources/{s.r1.id}/blackouts").get_json()["total"] == 1
    query = f"?from={s.day}&to={s.day + timedelta(days=1)}"
    text = api.as_(s.m1).get(f"/resources/{s.r1.id}/availability{query}").get_data(as_text=True)
    assert "blackout" in text
    assert "更换传感器" not in text and "maintenance" not in text


def test_only_the_owners_org_admin_edits_a_resource(api, s):
    hours = [{"weekday": 0, "start": "09:00", "end": "10:00"}]
    for who in (s.p2_admin, s.p1_operator, s.m1, s.city_a):
        client = api.as_(who)
        assert_error(client.patch(f"/resources/{s.r1.id}", json={"name": "改名"}), 403, "forbidden", case=who)
        assert_error(client.put(f"/resources/{s.r1.id}/opening-hours", json=hours), 403, "forbidden", case=who)
        assert_error(client.delete(f"/resources/{s.r1.id}"), 403, "forbidden", case=who)
    resource = api.as_(s.m1).get(f"/resources/{s.r1.id}").get_json()
    assert (resource["name"], resource["status"], len(resource["opening_hours"])) == (s.r1.name, "normal", 7)
    response = api.as_(s.p1_admin).patch(f"/resources/{s.r1.id}", json={"name": "三坐标测量机"})
    assert response.status_code == 200 and response.get_json()["name"] == "三坐标测量机"


# Organizations ----------------------------------------------------------------------------------------------


def org_seen_by(api, user, org) -> dict:
    response = api.as_(user).get(f"/organizations/{org.id}")
    assert response.status_code == 200
    return response.get_json()


def test_contact_details_are_visible_to_own_users_partners_and_regulators_in_scope_only(api, factory, s):
    for who in (s.stranger, s.p1_admin, s.city_b):
        assert set(org_seen_by(api, who, s.sme1)) == PUBLIC_ORG_FIELDS, who
    for who in (s.m1, s.city_a, s.province):
        org = org_seen_by(api, who, s.sme1)
        assert (org["contact_email"], org["contact_phone"]) == (s.sme1.contact_email, s.sme1.contact_phone), who
    factory.make_partnership(s.p1, s.sme1)
    assert org_seen_by(api, s.p1_admin, s.sme1)["contact_name"] == s.sme1.contact_name
    assert org_seen_by(api, s.m1, s.p1)["contact_name"] == s.p1.contact_name
    assert set(org_seen_by(api, s.m2, s.p1)) == PUBLIC_ORG_FIELDS


def test_the_organization_list_hides_contacts_of_unrelated_organizations(api, s):
    items = api.as_(s.stranger).get("/organizations?per_page=100").get_json()["items"]
    for org in items:
        if org["id"] != s.stranger.organization_id:
            assert set(org) == PUBLIC_ORG_FIELDS, org
    assert "contact_email" in next(o for o in items if o["id"] == s.stranger.organization_id)


def test_an_org_admin_changes_name_and_contacts_but_not_kind_city_industry_or_credit_code(api, factory, s):
    sme_admin = factory.make_user(s.sme1, Role.org_admin)
    client = api.as_(sme_admin)
    before = org_seen_by(api, sme_admin, s.sme1)
    for field, value in (
        ("kind", "lead_enterprise"),
        ("city", CITY_B),
        ("industry", "aerospace"),
        ("credit_code", credit_code(9999)),
    ):
        response = client.patch(f"/organizations/{s.sme1.id}", json={field: value, "name": "顺便改名"})
        assert_error(response, 403, "forbidden", case=field)
    assert org_seen_by(api, sme_admin, s.sme1) == before
    changes = {"name": "株洲精密零件有限公司", "contact_phone": "0731-22334455"}
    response = client.patch(f"/organizations/{s.sme1.id}", json=changes)
    assert response.status_code == 200
    assert {k: response.get_json()[k] for k in changes} == changes


def test_nobody_but_an_own_org_admin_or_a_platform_admin_edits_an_organization(api, factory, s):
    for who in (s.p1_admin, s.m1, s.city_a, s.province):
        response = api.as_(who).patch(f"/organizations/{s.sme1.id}", json={"name": "冒名"})
        assert_error(response, 403, "forbidden", case=who)
    assert org_seen_by(api, s.m1, s.sme1)["name"] == s.sme1.name
    admin = factory.make_user(role=Role.platform_admin)
    response = api.as_(admin).patch(f"/organizations/{s.sme1.id}", json={"kind": "testing_center"})
    assert response.status_code == 200 and response.get_json()["kind"] == "testing_center"


# Users ------------------------------------------------------------------------------------------------------


def new_user(org, role="operator", email="new.operator@example.test") -> dict:
    return {"email": email, "name": "新用户", "password": PASSWORD, "organization_id": org.id, "role": role}


def signs_in(api, email="new.operator@example.test") -> bool:
    return api.client.post("/api/v1/auth/tokens", json={"email": email, "password": PASSWORD}).status_code == 201


def test_an_org_admin_creates_staff_of_its_own_organization_and_no_password_is_answered(api, s):
    admin = api.as_(s.p1_admin)
    for role in ("platform_admin", "province_reviewer", "city_regulator"):
        assert admin.post("/users", json=new_user(s.p1, role)).status_code in (403, 422), role
    assert not signs_in(api)
    response = admin.post("/users", json=new_user(s.p1))
    assert response.status_code == 201
    body = response.get_data(as_text=True)
    assert "password" not in body and PASSWORD not in body
    assert (response.get_json()["organization_id"], response.get_json()["role"]) == (s.p1.id, "operator")
    assert signs_in(api)


def test_nobody_creates_users_for_another_organization_and_only_admins_create_users(api, s):
    for who, org in (
        (s.p1_admin, s.sme1),
        (s.p1_operator, s.p1),
        (s.m1, s.sme1),
        (s.city_a, s.sme1),
        (s.province, s.sme1),
    ):
        response = api.as_(who).post("/users", json=new_user(org, "member"))
        assert_error(response, 403, "forbidden", case=who)
    assert not signs_in(api)


# Partnerships -----------------------------------------------------------------------------------------------


def partnership_body(s) -> dict:
    return {
        "provider_id": s.p1.id,
        "sme_id": s.sme1.id,
        "started_on": s.day.isoformat(),
        "cooperation": ["resource_sharing", "talent_training"],
    }


def test_the_providers_org_admin_records_and_ends_a_partnership(api, s):
    admin = api.as_(s.p1_admin)
    response = admin.post("/partnerships", json=partnership_body(s))
    assert response.status_code == 201
    partnership = response.get_json()
    assert partnership["status"] == "active"
    assert sorted(partnership["cooperation"]) == ["resource_sharing", "talent_training"]
    ended = admin.patch(f"/partnerships/{partnership['id']}", json={"status": "ended"})
    assert ended.status_code == 200 and ended.get_json()["status"] == "ended"


def test_nobody_but_the_providers_org_admin_records_or_changes_a_partnership(api, factory, s):
    sme_admin = factory.make_user(s.sme1, Role.org_admin)
    for who in (s.p1_operator, s.p2_admin, s.m1, s.city_a, sme_admin):
        response = api.as_(who).post("/partnerships", json=partnership_body(s))
        assert_error(response, 403, "forbidden", case=who)
    assert api.as_(s.p1_admin).get("/partnerships").get_json()["total"] == 0
    partnership = factory.make_partnership(s.p1, s.sme1)
    for who in (sme_admin, s.p1_operator, s.p2_admin, s.m1, s.province):
        response = api.as_(who).patch(f"/partnerships/{partnership.id}", json={"status": "ended"})
        assert response.status_code in (403, 404), (who, response.get_json())
    assert api.as_(s.p1_admin).get(f"/partnerships/{partnership.id}").get_json()["status"] == "active"
