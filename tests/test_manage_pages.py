"""The management pages of SPEC §8: an org_admin publishes resources (every field of §2, opening hours), closes them
with blackouts (operators too), and runs the organization — details, users, partnerships. Forms keep what was typed
when they are refused."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from booking.extensions import db
from booking.models import Blackout, Organization, Partnership, Resource, User
from booking.models.enums import BookingStatus, OrgKind, PartnershipStatus, ResourceKind, ResourceStatus, Role

from .factories import PASSWORD, local, next_weekday
from .pages import sign_out

TOKEN = re.compile(r'name="[\w-]*csrf_token"[^>]*value="([^"]+)"')


def sign_in(client, user) -> None:
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": TOKEN.search(page)[1]}
    )
    assert response.status_code == 302


def submit(client, page_url: str, data: dict, action: str | None = None, prefix: str = ""):
    """POST a form the way a browser does: from its page, with the CSRF token the page carries."""
    page = client.get(page_url)
    assert page.status_code == 200, page.status_code
    token = TOKEN.search(page.get_data(as_text=True))[1]
    return client.post(action or page_url, data={**data, f"{prefix}csrf_token": token})


def text(response) -> str:
    return response.get_data(as_text=True)


def resource_fields(**overrides) -> dict:
    """Every field of the resource form, as typed; fields a kind does not have are ignored by its form."""
    data = {
        "name": "三坐标测量机",
        "description": "桥式三坐标",
        "model": "CMM-7106",
        "manufacturer": "某精密仪器厂",
        "serial_no": "SN-0042",
        "location": "计量楼 201",
        "city": "430300",
        "metrology_field": "geometry",
        "measurement_range": "700 mm × 1000 mm × 600 mm",
        "uncertainty": "MPE (1.9 + L/300) µm",
        "traceability": "calibration",
        "traceability_institution": "省计量院",
        "certificate_no": "JZ2026-0117",
        "certificate_valid_until": "2030-06-30",
        "status": "normal",
        "sharing_mode": "assisted",
        "rated_hours_per_year": "800",
        "hourly_fee": "120.50",
        "partner_hourly_fee": "",
        "slot_minutes": "30",
        "min_minutes": "",
        "max_minutes": "240",
        "lead_hours": "12",
        "horizon_days": "90",
        "capacity": "2",
        "approval": "non_partners",
        "check_in_required": "y",
        "hours_0": "08:30-12:00, 13:30-17:30",
        "hours_1": "08:30-12:00",
        "hours_2": "",
        "hours_3": "",
        "hours_4": "9:00-11:00",
        "hours_5": "",
        "hours_6": "",
    }
    data.update(overrides)
    return data


def edit_fields(**overrides) -> dict:
    """The form of an existing resource: blanks mean nothing there, so the shortest booking and partner fee are
    given."""
    return resource_fields(**{"min_minutes": "30", "partner_hourly_fee": "90", **overrides})


@pytest.fixture
def provider(factory):
    org, admin, operator = factory.make_provider()
    return org, admin, operator


@pytest.mark.parametrize("kind", [k.value for k in ResourceKind])
def test_org_admin_publishes_a_resource_of_each_kind_and_edits_it(client, provider, kind):
    org, admin, _operator = provider
    sign_in(client, admin)
    response = submit(client, f"/manage/resources/new/{kind}", resource_fields())
    assert response.status_code == 302
    resource = db.session.scalars(select(Resource).where(Resource.organization_id == org.id)).one()
    assert response.headers["Location"].endswith(f"/manage/resources/{resource.id}")
    assert resource.kind == ResourceKind(kind)
    assert (resource.name, resource.model, resource.city) == ("三坐标测量机", "CMM-7106", "430300")
    assert resource.metrology_field.value == "geometry"
    assert resource.hourly_fee == resource.partner_hourly_fee == Decimal("120.50")
    assert (resource.rated_hours_per_year, resource.lead_hours, resource.horizon_days) == (800, 12, 90)
    assert resource.approval.value == "non_partners" and resource.check_in_required
    if kind in ("instrument", "standard"):
        assert resource.certificate_no == "JZ2026-0117"
        assert resource.certificate_valid_until.isoformat() == "2030-06-30"
        assert resource.traceability.value == "calibration"
    else:
        assert resource.certificate_no == "" and resource.certificate_valid_until is None
    if kind == "dataset":
        assert 'name="hours_0"' not in text(client.get(f"/manage/resources/{resource.id}"))
    else:
        assert (resource.min_minutes, resource.max_minutes, resource.capacity) == (30, 240, 2)
        assert [(h.weekday, h.start_minute, h.end_minute) for h in resource.opening_hours] == [
            (0, 510, 720),
            (0, 810, 1050),
            (1, 510, 720),
            (4, 540, 660),
        ]

    page = text(client.get(f"/manage/resources/{resource.id}"))
    assert 'value="三坐标测量机"' in page and "120.50" in page
    edited = resource_fields(
        name="三坐标测量机（二号）",
        partner_hourly_fee="80",
        min_minutes="60",
        status="under_repair",
    )
    del edited["check_in_required"]  # an unticked checkbox is not sent
    response = submit(client, f"/manage/resources/{resource.id}", edited)
    assert response.status_code == 302
    db.session.refresh(resource)
    assert resource.name == "三坐标测量机（二号）"
    assert resource.partner_hourly_fee == Decimal("80")
    assert resource.status == ResourceStatus.under_repair and not resource.check_in_required
    assert resource.kind == ResourceKind(kind)


def test_only_the_owners_org_admin_edits_resources(client, factory, provider):
    org, admin, operator = provider
    resource = factory.make_resource(org, name="原名")
    member = factory.make_user(org, Role.member)
    _other, other_admin, _ = factory.make_provider()
    sme_admin = factory.make_user(factory.make_org(kind=OrgKind.sme), Role.org_admin)
    for user in (member, operator, other_admin, sme_admin):
        sign_out(client)
        sign_in(client, user)
        token = TOKEN.search(text(client.get("/bookings")))[1]
        if user is not other_admin:
            assert client.get("/manage/resources").status_code == 403
            assert client.get("/manage/resources/new/instrument").status_code == 403
        assert client.get(f"/manage/resources/{resource.id}").status_code in (403, 404)
        posted = client.post(
            f"/manage/resources/{resource.id}", data={**resource_fields(name="改名"), "csrf_token": token}
        )
        assert posted.status_code in (403, 404)
        retired = client.post(
            f"/manage/resources/{resource.id}/retire", data={"retire-confirm": "y", "retire-csrf_token": token}
        )
        assert retired.status_code in (403, 404)
    # Another organization's admin has their own list, without this resource.
    assert "原名" not in text(client.get("/manage/resources"))
    db.session.refresh(resource)
    assert resource.name == "原名" and resource.status == ResourceStatus.normal
    assert client.get("/manage/resources/999999").status_code == 404


def test_opening_hours_errors_show_beside_the_weekday_with_the_typed_text_kept(client, factory, provider):
    org, admin, _ = provider
    resource = factory.make_resource(org)
    sign_in(client, admin)
    url = f"/manage/resources/{resource.id}"
    before = [(h.weekday, h.start_minute, h.end_minute) for h in resource.opening_hours]

    response = submit(client, url, edit_fields(hours_2="8点到12点", name="已改名"))
    assert response.status_code == 422
    page = text(response)
    assert 'value="8点到12点"' in page and 'value="已改名"' in page
    error = re.search(r'id="hours_2-error">([^<]+)<', page)
    assert error and "08:30-12:00" in error[1]
    assert 'id="hours_0-error"' not in page

    # Overlaps and backwards intervals are the service's rules; their errors land beside the day too.
    response = submit(client, url, edit_fields(hours_3="08:00-12:00, 11:00-13:00"))
    assert response.status_code == 422
    assert 'id="hours_3-error"' in text(response) and 'value="08:00-12:00, 11:00-13:00"' in text(response)
    response = submit(client, url, edit_fields(hours_5="18:00-09:00", hours_6="25:00-26:00"))
    assert response.status_code == 422
    assert 'id="hours_6-error"' in text(response)
    response = submit(client, url, edit_fields(hours_6="10:00-09:00"))
    assert response.status_code == 422 and 'id="hours_6-error"' in text(response)

    db.session.refresh(resource)
    assert [(h.weekday, h.start_minute, h.end_minute) for h in resource.opening_hours] == before
    assert resource.name != "已改名"

    response = submit(client, url, edit_fields(hours_5="10:00-24:00", hours_6="00:00-06:00，07:00～08:00"))
    assert response.status_code == 302
    db.session.refresh(resource)
    hours = [(h.weekday, h.start_minute, h.end_minute) for h in resource.opening_hours]
    assert (5, 600, 1440) in hours and (6, 0, 360) in hours and (6, 420, 480) in hours
    assert 'value="10:00-24:00"' in text(client.get(url))


def test_form_errors_keep_what_was_typed(client, factory, provider):
    org, admin, _ = provider
    sign_in(client, admin)
    # Refused by the form: a negative fee, a fee with three decimals, a missing name.
    response = submit(
        client,
        "/manage/resources/new/instrument",
        resource_fields(name="", hourly_fee="-5", partner_hourly_fee="1.005", model="型号甲"),
    )
    assert response.status_code == 422
    page = text(response)
    for name in ("name", "hourly_fee", "partner_hourly_fee"):
        assert f'id="{name}-error"' in page
    assert 'value="型号甲"' in page and 'value="-5"' in page and "某精密仪器厂" in page
    # Refused by the service: the shortest booking exceeds the longest; the error sits beside the field.
    response = submit(
        client, "/manage/resources/new/standard", resource_fields(min_minutes="300", max_minutes="240", name="标准装置")
    )
    assert response.status_code == 422
    page = text(response)
    assert 'id="min_minutes-error"' in page and 'value="标准装置"' in page and 'value="300"' in page
    assert db.session.scalars(select(Resource)).all() == []


def test_retiring_needs_confirmation_and_marks_the_resource(client, factory, provider):
    org, admin, _ = provider
    resource = factory.make_resource(org, name="待停用仪器")
    sign_in(client, admin)
    url = f"/manage/resources/{resource.id}"
    response = submit(client, url, {}, action=f"{url}/retire", prefix="retire-")
    assert response.status_code == 422 and 'id="retire-confirm-error"' in text(response)
    db.session.refresh(resource)
    assert resource.status == ResourceStatus.normal
    response = submit(client, url, {"retire-confirm": "y"}, action=f"{url}/retire", prefix="retire-")
    assert response.status_code == 302
    db.session.refresh(resource)
    assert resource.status == ResourceStatus.retired
    listing = text(client.get("/manage/resources"))
    assert "待停用仪器" in listing and 'class="card manage-item retired"' in listing


def morning_closure(day, reason: str, note: str) -> dict:
    """The blackout form, filled in for 08:00–12:00 of ``day``."""
    return {
        "start_date": day.isoformat(),
        "start_time": "08:00",
        "end_date": day.isoformat(),
        "end_time": "12:00",
        "reason": reason,
        "note": note,
    }


def test_blackout_over_an_approved_booking_warns_and_changes_nothing_until_forced(client, factory, provider):
    org, admin, _ = provider
    resource = factory.make_resource(org)
    sme = factory.make_org(kind=OrgKind.sme, name="某中小企业")
    requester = factory.make_user(sme, Role.member)
    day = next_weekday(4)
    booking = factory.make_booking(resource, requester, local(day, 9), local(day, 10), BookingStatus.approved)
    sign_in(client, admin)
    url = f"/manage/resources/{resource.id}/blackouts"
    typed = morning_closure(day, "calibration", "送检：年度校准")

    response = submit(client, url, typed)
    assert response.status_code == 409
    page = text(response)
    assert "09:00" in page and "某中小企业" in page
    assert 'name="force"' in page
    assert "送检：年度校准" in page and 'value="12:00"' in page and f'value="{day.isoformat()}"' in page
    assert db.session.scalars(select(Blackout)).all() == []
    db.session.refresh(booking)
    assert booking.status == BookingStatus.approved

    warned = re.search(r'name="warned" type="hidden" value="([^"]+)"', page)[1]
    # Ticking "force" confirms the bookings listed for that period, not those of a period changed since.
    changed = submit(client, url, {**typed, "end_time": "11:00", "force": "y", "warned": warned})
    assert changed.status_code == 409 and 'value="11:00"' in text(changed)
    db.session.refresh(booking)
    assert booking.status == BookingStatus.approved
    assert db.session.scalars(select(Blackout)).all() == []

    response = submit(client, url, {**typed, "force": "y", "warned": warned})
    assert response.status_code == 302
    blackout = db.session.scalars(select(Blackout)).one()
    assert (blackout.start, blackout.end, blackout.note) == (local(day, 8), local(day, 12), "送检：年度校准")
    db.session.refresh(booking)
    assert booking.status == BookingStatus.cancelled
    assert "送检：年度校准" in text(client.get(url))


def test_blackout_over_a_booking_in_use_is_refused_beside_the_period_without_offering_force(client, factory, provider):
    org, admin, _ = provider
    resource = factory.make_resource(org)
    requester = factory.make_user(factory.make_org(kind=OrgKind.sme, name="正在使用的企业"), Role.member)
    day = next_weekday(4)
    booking = factory.make_booking(resource, requester, local(day, 9), local(day, 10), BookingStatus.in_use)
    sign_in(client, admin)
    url = f"/manage/resources/{resource.id}/blackouts"
    typed = morning_closure(day, "maintenance", "紧急维修")
    warned = f"{local(day, 8).isoformat()}/{local(day, 12).isoformat()}"
    # Even a forged confirmation of that very period does not cancel a booking in use.
    for data in (typed, {**typed, "force": "y", "warned": warned}):
        response = submit(client, url, data)
        assert response.status_code == 409
        page = text(response)
        assert 'id="start_time-error"' in page and "正在使用的企业" in page
        assert 'name="force"' not in page and "紧急维修" in page
    db.session.refresh(booking)
    assert booking.status == BookingStatus.in_use
    assert db.session.scalars(select(Blackout)).all() == []


def test_blackout_form_errors_keep_what_was_typed(client, factory, provider):
    org, admin, _ = provider
    resource = factory.make_resource(org)
    sign_in(client, admin)
    url = f"/manage/resources/{resource.id}/blackouts"
    day = next_weekday(5)
    response = submit(
        client,
        url,
        {
            "start_date": day.isoformat(),
            "start_time": "9点",
            "end_date": day.isoformat(),
            "end_time": "12:00",
            "reason": "maintenance",
            "note": "更换导轨",
        },
    )
    assert response.status_code == 422
    assert 'id="start_time-error"' in text(response) and 'value="9点"' in text(response)
    assert "更换导轨" in text(response)
    # The end before the start is the service's rule; its error sits beside the end.
    response = submit(
        client,
        url,
        {
            "start_date": day.isoformat(),
            "start_time": "12:00",
            "end_date": day.isoformat(),
            "end_time": "09:00",
            "reason": "maintenance",
            "note": "更换导轨",
        },
    )
    assert response.status_code == 422
    assert 'id="end_time-error"' in text(response) and "更换导轨" in text(response)
    assert db.session.scalars(select(Blackout)).all() == []


def test_operator_closes_a_resource_and_removes_the_closure(client, factory, provider):
    org, _admin, operator = provider
    resource = factory.make_resource(org, name="高低温试验箱")
    member = factory.make_user(org, Role.member)
    sign_in(client, member)
    assert client.get(f"/manage/resources/{resource.id}/blackouts").status_code == 403
    assert client.get("/manage/blackouts").status_code == 403
    sign_out(client)

    sign_in(client, operator)
    assert "高低温试验箱" in text(client.get("/manage/blackouts"))
    url = f"/manage/resources/{resource.id}/blackouts"
    day = next_weekday(6)
    response = submit(
        client,
        url,
        {
            "start_date": day.isoformat(),
            "start_time": "00:00",
            "end_date": day.isoformat(),
            "end_time": "24:00",
            "reason": "holiday",
            "note": "",
        },
    )
    assert response.status_code == 302
    blackout = db.session.scalars(select(Blackout)).one()
    assert (blackout.start, blackout.end) == (local(day), local(day + timedelta(days=1)))
    response = submit(client, url, {}, action=f"{url}/{blackout.id}/delete")
    assert response.status_code == 302
    assert db.session.scalars(select(Blackout)).all() == []
    # Operators close resources but do not edit them.
    assert client.get(f"/manage/resources/{resource.id}").status_code == 403


def test_org_admin_adds_users_with_a_role(client, factory, provider):
    org, admin, _ = provider
    sign_in(client, admin)
    url = "/manage/organization"
    response = submit(
        client,
        url,
        {
            "user-email": "ops@example.test",
            "user-name": "王工",
            "user-role": "operator",
            "user-password": "long-enough-1",
        },
        action="/manage/organization/users",
        prefix="user-",
    )
    assert response.status_code == 302
    user = db.session.scalars(select(User).where(User.email == "ops@example.test")).one()
    assert (user.role, user.organization_id, user.name) == (Role.operator, org.id, "王工")
    page = text(client.get(url))
    assert "王工" in page and "ops@example.test" in page

    short = submit(
        client,
        url,
        {"user-email": "new@example.test", "user-name": "李工", "user-role": "member", "user-password": "short"},
        action="/manage/organization/users",
        prefix="user-",
    )
    assert short.status_code == 422
    page = text(short)
    assert 'id="user-password-error"' in page and 'value="new@example.test"' in page and 'value="李工"' in page
    taken = submit(
        client,
        url,
        {"user-email": admin.email, "user-name": "重名", "user-role": "member", "user-password": "long-enough-1"},
        action="/manage/organization/users",
        prefix="user-",
    )
    assert taken.status_code == 422
    assert 'id="user-email-error"' in text(taken) and 'value="重名"' in text(taken)
    # A role outside the organization's staff roles is not offered and not accepted.
    admin_role = submit(
        client,
        url,
        {
            "user-email": "x@example.test",
            "user-name": "越权",
            "user-role": "platform_admin",
            "user-password": "long-enough-1",
        },
        action="/manage/organization/users",
        prefix="user-",
    )
    assert admin_role.status_code == 422
    assert len(db.session.scalars(select(User).where(User.organization_id == org.id)).all()) == 3


def test_partnership_is_recorded_and_ended_and_the_sme_sees_it_read_only(client, factory, provider):
    org, admin, _ = provider
    sme = factory.make_org(kind=OrgKind.sme, name="伙伴中小企业")
    sign_in(client, admin)
    url = "/manage/organization"
    assert f'<option value="{sme.id}">伙伴中小企业</option>' in text(client.get(url))
    response = submit(
        client,
        url,
        {
            "partner-sme_id": str(sme.id),
            "partner-started_on": "2026-03-01",
            "partner-cooperation": ["resource_sharing", "talent_training"],
        },
        action="/manage/organization/partnerships",
        prefix="partner-",
    )
    assert response.status_code == 302
    p = db.session.scalars(select(Partnership)).one()
    assert (p.provider_id, p.sme_id, p.started_on.isoformat()) == (org.id, sme.id, "2026-03-01")
    assert p.cooperation == ["resource_sharing", "talent_training"] and p.status == PartnershipStatus.active

    again = submit(
        client,
        url,
        {"partner-sme_id": str(sme.id), "partner-started_on": "2026-04-01"},
        action="/manage/organization/partnerships",
        prefix="partner-",
    )
    assert again.status_code == 422 and 'value="2026-04-01"' in text(again)

    response = submit(
        client,
        url,
        {f"p{p.id}-status": "ended", f"p{p.id}-cooperation": ["resource_sharing"]},
        action=f"/manage/organization/partnerships/{p.id}",
        prefix=f"p{p.id}-",
    )
    assert response.status_code == 302
    db.session.refresh(p)
    assert p.status == PartnershipStatus.ended and p.ended_on is not None
    assert p.cooperation == ["resource_sharing"]

    sign_out(client)
    sme_admin = factory.make_user(sme, Role.org_admin)
    sign_in(client, sme_admin)
    page = text(client.get(url))
    assert org.name in page
    assert f"/manage/organization/partnerships/{p.id}" not in page
    assert 'name="partner-sme_id"' not in page
    token = TOKEN.search(page)[1]
    refused = client.post(
        f"/manage/organization/partnerships/{p.id}", data={f"p{p.id}-status": "active", f"p{p.id}-csrf_token": token}
    )
    assert refused.status_code == 403
    db.session.refresh(p)
    assert p.status == PartnershipStatus.ended


def test_org_admin_edits_name_and_contacts_but_not_kind_city_industry_or_credit_code(client, factory, provider):
    org, admin, _ = provider
    code = org.credit_code
    sign_in(client, admin)
    url = "/manage/organization"
    page = text(client.get(url))
    assert code in page and 'name="credit_code"' not in page and 'name="kind"' not in page
    response = submit(
        client,
        url,
        {
            "name": "新名称有限公司",
            "contact_name": "赵经理",
            "contact_phone": "0731-1234",
            "contact_email": "contact@example.test",
            "credit_code": "BAD",
            "kind": "sme",
            "city": "430100",
        },
    )
    assert response.status_code == 302
    org = db.session.get(Organization, org.id)
    db.session.refresh(org)
    assert (org.name, org.contact_name, org.contact_email) == ("新名称有限公司", "赵经理", "contact@example.test")
    assert (org.credit_code, org.kind, org.city) == (code, OrgKind.lead_enterprise, "430200")

    bad = submit(
        client,
        url,
        {"name": "再改名", "contact_name": "赵经理", "contact_phone": "电话号码", "contact_email": "not-an-email"},
    )
    assert bad.status_code == 422
    page = text(bad)
    assert 'id="contact_phone-error"' in page and 'id="contact_email-error"' in page
    assert 'value="再改名"' in page and 'value="电话号码"' in page
    db.session.refresh(org)
    assert org.name == "新名称有限公司"


def test_organization_page_is_for_org_admins(client, factory, provider):
    org, _admin, operator = provider
    sign_in(client, operator)
    assert client.get("/manage/organization").status_code == 403
    token = TOKEN.search(text(client.get("/bookings")))[1]
    response = client.post(
        "/manage/organization/users",
        data={
            "user-email": "x@example.test",
            "user-name": "x",
            "user-role": "member",
            "user-password": "long-enough-1",
            "user-csrf_token": token,
        },
    )
    assert response.status_code == 403
    assert db.session.scalar(select(User).where(User.email == "x@example.test")) is None


def test_managing_pages_need_the_csrf_token(client, factory, provider):
    org, admin, _ = provider
    sign_in(client, admin)
    response = client.post("/manage/resources/new/lab", data=resource_fields())
    assert response.status_code == 400
    assert db.session.scalars(select(Resource)).all() == []
