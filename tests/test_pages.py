"""The pages of SPEC §8 for finding, requesting and deciding (catalog, resource, bookings, approvals)."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from booking.extensions import db
from booking.models import Booking
from booking.models.enums import BookingStatus, OrgKind, Role
from booking.services.organizations import update_organization

from .factories import local, next_weekday
from .pages import post_form, sign_in


def _sme(factory):
    return factory.make_user(factory.make_org(kind=OrgKind.sme, name="小微精密"), Role.member)


def test_pages_need_sign_in_and_login_returns_to_them(client):
    response = client.get("/resources")
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]


def test_catalog_filters_by_text_kind_and_city_and_shows_fee_and_calibration(app, factory):
    provider, admin, _ = factory.make_provider(city="430200")
    valid = (datetime.now(UTC) + timedelta(days=100)).date()
    factory.make_resource(
        provider,
        name="三坐标测量机",
        hourly_fee=300,
        partner_hourly_fee=150,
        metrology_field="geometry",
        certificate_valid_until=valid,
    )
    factory.make_resource(
        provider,
        name="温度校准槽",
        kind="standard",
        metrology_field="thermal",
        certificate_valid_until=datetime.now(UTC).date() - timedelta(days=3),
    )
    client = sign_in(app, _sme(factory))
    html = client.get("/resources?q=坐标").get_data(as_text=True)
    assert "三坐标测量机" in html and "温度校准槽" not in html
    assert "¥300.00" in html and "¥150.00" in html
    assert valid.isoformat() in html
    html = client.get("/resources?kind=standard").get_data(as_text=True)
    assert "温度校准槽" in html and "三坐标测量机" not in html
    assert "badge bad" in html  # the expired certificate is marked
    empty = client.get("/resources?city=431100").get_data(as_text=True)
    assert "三坐标测量机" not in empty and 'class="empty' in empty


def test_catalog_free_on_a_day_leaves_out_a_fully_booked_resource(app, factory):
    provider, _, _ = factory.make_provider()
    day = next_weekday(4)
    full = factory.make_resource(provider, name="全天占用的仪器", opening_hours=[(day.weekday(), 540, 600)])
    factory.make_resource(provider, name="空闲的仪器", opening_hours=[(day.weekday(), 540, 600)])
    sme = _sme(factory)
    factory.make_booking(full, sme, local(day, 9), local(day, 10))
    html = sign_in(app, sme).get(f"/resources?day={day.isoformat()}").get_data(as_text=True)
    assert "空闲的仪器" in html and "全天占用的仪器" not in html


def test_resource_page_week_view_shows_free_and_busy_without_requester_names(app, factory):
    provider, _, _ = factory.make_provider()
    resource = factory.make_resource(provider, name="万能材料试验机")
    other = factory.make_user(factory.make_org(kind=OrgKind.sme, name="保密的另一家公司"), Role.member)
    day = next_weekday(3)
    factory.make_booking(resource, other, local(day, 9), local(day, 11))
    client = sign_in(app, _sme(factory))
    html = client.get(f"/resources/{resource.id}?week={day.isoformat()}").get_data(as_text=True)
    assert "08:00–09:00" in html and "11:00–20:00" in html
    assert "09:00–11:00" in html  # the busy block
    assert "保密的另一家公司" not in html


def test_choosing_a_free_slot_fills_the_request_form(app, factory):
    resource = factory.make_resource()
    day = next_weekday(3)
    client = sign_in(app, _sme(factory))
    start, end = local(day, 13).isoformat(), local(day, 15).isoformat()
    html = client.get(f"/resources/{resource.id}", query_string={"start": start, "end": end}).get_data(as_text=True)
    assert f'value="{day.isoformat()}"' in html
    assert 'value="13:00"' in html and 'value="15:00"' in html


def test_request_form_shows_rule_error_beside_field_and_keeps_what_was_typed(app, factory):
    resource = factory.make_resource()
    day = next_weekday(3)
    client = sign_in(app, _sme(factory))
    response = post_form(
        client,
        f"/resources/{resource.id}",
        f"/resources/{resource.id}",
        {"day": day.isoformat(), "start_time": "09:10", "end_time": "10:00", "purpose": "尺寸检测 批次A"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="start_time-error"' in html and "30" in html
    assert 'value="09:10"' in html and "尺寸检测 批次A" in html
    assert db.session.scalar(select(Booking.id)) is None


def test_request_form_conflict_says_the_time_is_taken(app, factory):
    resource = factory.make_resource()
    day = next_weekday(3)
    factory.make_booking(resource, factory.make_user(), local(day, 9), local(day, 10))
    client = sign_in(app, _sme(factory))
    response = post_form(
        client,
        f"/resources/{resource.id}",
        f"/resources/{resource.id}",
        {"day": day.isoformat(), "start_time": "09:00", "end_time": "10:00", "purpose": "x"},
    )
    assert response.status_code == 409
    assert 'id="start_time-error"' in response.get_data(as_text=True)


def test_sme_requests_a_slot_and_finds_it_pending_in_my_bookings(app, factory):
    resource = factory.make_resource(name="扭矩标准装置")
    day = next_weekday(3)
    sme = _sme(factory)
    client = sign_in(app, sme)
    response = post_form(
        client,
        f"/resources/{resource.id}",
        f"/resources/{resource.id}",
        {"day": day.isoformat(), "start_time": "09:00", "end_time": "10:30", "purpose": "送检"},
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/bookings")
    booking = db.session.scalars(select(Booking)).one()
    assert booking.status == BookingStatus.pending and booking.requester_id == sme.id
    html = client.get("/bookings").get_data(as_text=True)
    assert "扭矩标准装置" in html and "送检" in html


def test_member_cancels_a_booking_from_my_bookings(app, factory):
    resource = factory.make_resource()
    sme = _sme(factory)
    booking = factory.make_booking(resource, sme, local(next_weekday(3), 9))
    client = sign_in(app, sme)
    response = post_form(client, "/bookings", f"/bookings/{booking.id}/cancel", {"note": "计划变更"})
    assert response.status_code == 302
    db.session.refresh(booking)
    assert booking.status == BookingStatus.cancelled
    assert booking.history[-1].note == "计划变更"


def test_after_its_start_a_booking_offers_the_requester_no_cancel_button_and_a_forged_post_is_refused(app, factory):
    resource = factory.make_resource()
    sme = _sme(factory)
    now = datetime.now(UTC).replace(microsecond=0)
    ahead = factory.make_booking(resource, sme, now + timedelta(days=2))
    started = factory.make_booking(resource, sme, now - timedelta(minutes=20), fee=90)
    client = sign_in(app, sme)
    html = client.get("/bookings").get_data(as_text=True)
    assert f"/bookings/{ahead.id}/cancel" in html
    assert f"/bookings/{started.id}/cancel" not in html
    response = post_form(client, "/bookings", f"/bookings/{started.id}/cancel", {"note": "不用了"})
    assert response.status_code == 302
    assert 'class="flash error"' in client.get(response.headers["Location"]).get_data(as_text=True)
    db.session.refresh(started)
    assert (started.status, started.fee) == (BookingStatus.approved, 90)


def test_completed_booking_can_be_rated(app, factory):
    resource = factory.make_resource()
    sme = _sme(factory)
    start = local(datetime.now(UTC).date() - timedelta(days=2), 9)
    booking = factory.make_booking(resource, sme, start, status=BookingStatus.completed)
    client = sign_in(app, sme)
    response = post_form(
        client, "/bookings?tab=completed", f"/bookings/{booking.id}/rating", {"score": "5", "comment": "很专业"}
    )
    assert response.status_code == 302
    db.session.refresh(booking)
    assert (booking.rating, booking.rating_comment) == (5, "很专业")
    bad = post_form(client, "/bookings?tab=completed", f"/bookings/{booking.id}/rating", {"score": "9"})
    assert bad.status_code == 302
    db.session.refresh(booking)
    assert booking.rating == 5


def test_another_organization_cannot_cancel_my_booking(app, factory):
    resource = factory.make_resource()
    booking = factory.make_booking(resource, _sme(factory), local(next_weekday(3), 9))
    stranger = sign_in(app, factory.make_user(factory.make_org(kind=OrgKind.sme), Role.org_admin))
    response = post_form(stranger, "/bookings", f"/bookings/{booking.id}/cancel", {"note": "x"})
    assert response.status_code == 404
    db.session.refresh(booking)
    assert booking.status == BookingStatus.approved


def test_approvals_queue_oldest_first_with_partner_badge_then_approve_and_reject(app, factory):
    provider, admin, operator = factory.make_provider()
    resource = factory.make_resource(provider, name="环境试验箱")
    partner = factory.make_org(kind=OrgKind.sme, name="伙伴企业")
    factory.make_partnership(provider, partner)
    partner_user = factory.make_user(partner, Role.member)
    stranger = factory.make_user(factory.make_org(kind=OrgKind.sme, name="非伙伴企业"), Role.member)
    now = datetime.now(UTC)
    day = next_weekday(3)
    first = factory.make_booking(
        resource,
        stranger,
        local(day, 9),
        status=BookingStatus.pending,
        created_at=now - timedelta(hours=3),
        purpose="第一单",
    )
    second = factory.make_booking(
        resource,
        partner_user,
        local(day, 11),
        status=BookingStatus.pending,
        created_at=now - timedelta(hours=1),
        purpose="第二单",
    )
    client = sign_in(app, operator)
    html = client.get("/approvals").get_data(as_text=True)
    assert html.index("第一单") < html.index("第二单")
    assert html.count("badge good") == 1 and html.index("<strong>伙伴企业") > html.index("第一单")
    no_note = post_form(client, "/approvals", f"/approvals/{first.id}/reject", {"note": ""})
    assert no_note.status_code == 302
    db.session.refresh(first)
    assert first.status == BookingStatus.pending
    post_form(client, "/approvals", f"/approvals/{first.id}/reject", {"note": "设备当日另有安排"})
    post_form(client, "/approvals", f"/approvals/{second.id}/approve", {"note": ""})
    db.session.refresh(first)
    db.session.refresh(second)
    assert first.status == BookingStatus.rejected and second.status == BookingStatus.approved


def test_approvals_page_is_for_provider_staff_only(app, factory):
    member = factory.make_user(factory.make_org(kind=OrgKind.sme), Role.member)
    assert sign_in(app, member).get("/approvals").status_code == 403


def test_language_switch_is_remembered(app, factory):
    client = sign_in(app, _sme(factory))
    client.get("/lang/en?next=/resources")
    assert "Find a resource" in client.get("/resources").get_data(as_text=True)
    client.get("/lang/zh_CN")
    assert 'lang="zh-CN"' in client.get("/resources").get_data(as_text=True)


def test_request_form_without_times_asks_for_them_beside_the_fields(app, factory):
    resource = factory.make_resource()
    client = sign_in(app, _sme(factory))
    response = post_form(
        client,
        f"/resources/{resource.id}",
        f"/resources/{resource.id}",
        {"day": next_weekday(3).isoformat(), "start_time": "", "end_time": "9点", "purpose": "检测"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="start_time-error"' in html and 'id="end_time-error"' in html
    assert 'value="9点"' in html


def test_dataset_request_takes_whole_days(app, factory):
    dataset = factory.make_resource(kind="dataset", name="轮对测量数据集", approval="never")
    client = sign_in(app, _sme(factory))
    first = next_weekday(3)
    missing = post_form(
        client, f"/resources/{dataset.id}", f"/resources/{dataset.id}", {"day": first.isoformat(), "purpose": "分析"}
    )
    assert missing.status_code == 422 and 'id="last_day-error"' in missing.get_data(as_text=True)
    response = post_form(
        client,
        f"/resources/{dataset.id}",
        f"/resources/{dataset.id}",
        {"day": first.isoformat(), "last_day": (first + timedelta(days=2)).isoformat(), "purpose": "分析"},
    )
    assert response.status_code == 302
    booking = db.session.scalars(select(Booking)).one()
    assert (booking.start, booking.end) == (local(first), local(first + timedelta(days=3)))
    assert booking.status == BookingStatus.approved


def test_notifications_page_lists_mine_with_unread_count_and_marks_read(app, factory):
    provider, _, operator = factory.make_provider()
    resource = factory.make_resource(provider, name="光谱仪")
    sme = _sme(factory)
    client = sign_in(app, sme)
    post_form(
        client,
        f"/resources/{resource.id}",
        f"/resources/{resource.id}",
        {"day": next_weekday(3).isoformat(), "start_time": "09:00", "end_time": "10:00", "purpose": "x"},
    )
    staff = sign_in(app, operator)
    html = staff.get("/notifications").get_data(as_text=True)
    assert "光谱仪" in html and 'class="count"' in html
    assert "光谱仪" not in client.get("/notifications").get_data(as_text=True)
    post_form(staff, "/notifications", "/notifications/read-all", {})
    assert 'class="count"' not in staff.get("/notifications").get_data(as_text=True)


def test_pages_send_security_headers_and_no_inline_script(client):
    response = client.get("/login")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    html = response.get_data(as_text=True)
    assert "<script>" not in html and " style=" not in html
    cookie = client.get_cookie("session")
    assert cookie is None or cookie.http_only


def test_the_catalog_search_matches_name_model_description_range_and_owner_and_follows_a_rename(app, client, factory):
    provider, admin, _operator = factory.make_provider()
    resource = factory.make_resource(
        provider, name="Surface Profiler", model="SP-900X", description="粗糙度与轮廓测量", measurement_range="0–50 mm"
    )
    factory.make_resource(provider, name="其他仪器")
    client = sign_in(app, _sme(factory))

    def found(q):
        html = client.get(f"/resources?q={q}").get_data(as_text=True)
        return f"/resources/{resource.id}" in html

    assert found("surface") and found("sp-900x") and found("轮廓") and found("0–50")
    assert found(provider.name[:4])
    assert not found("不存在的词")
    update_organization(admin, provider, {"name": "改名后的计量中心"})
    db.session.commit()
    assert found("改名后") and not found("never-there")
