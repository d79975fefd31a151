"""The audit log of administrative actions (who, what, when), readable by platform administrators only."""

from sqlalchemy import select

from booking.extensions import db
from booking.models import AuditEntry
from booking.models.enums import OrgKind, Role

from .factories import local, next_weekday
from .pages import sign_in


def _entries(action=None):
    stmt = select(AuditEntry).order_by(AuditEntry.id)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    return db.session.scalars(stmt).all()


def test_administrative_actions_are_recorded_with_actor_and_time(api, factory):
    provider, admin, operator = factory.make_provider()
    admin_api = api.as_(admin)
    created = admin_api.post("/resources", json={"name": "硬度计", "kind": "instrument"}).get_json()
    admin_api.patch(f"/resources/{created['id']}", json={"hourly_fee": 120})
    admin_api.put(f"/resources/{created['id']}/opening-hours", json=[{"weekday": 0, "start": "09:00", "end": "17:00"}])
    sme = factory.make_org(kind=OrgKind.sme)
    admin_api.post(
        "/users",
        json={
            "email": "new.staff@example.test",
            "name": "新同事",
            "password": "long-enough-1",
            "organization_id": provider.id,
            "role": "operator",
        },
    )
    admin_api.post(
        "/partnerships",
        json={
            "provider_id": provider.id,
            "sme_id": sme.id,
            "started_on": "2026-01-05",
            "cooperation": ["resource_sharing"],
        },
    )
    day = next_weekday(20)
    api.as_(operator).post(
        f"/resources/{created['id']}/blackouts",
        json={"start": local(day, 0).isoformat(), "end": local(day, 23).isoformat(), "reason": "maintenance"},
    )
    admin_api.delete(f"/resources/{created['id']}")
    actions = [e.action for e in _entries()]
    for expected in (
        "resource.create",
        "resource.update",
        "resource.opening_hours",
        "user.create",
        "partnership.create",
        "blackout.create",
        "resource.retire",
    ):
        assert expected in actions, expected
    update = _entries("resource.update")[0]
    assert update.actor_id == admin.id and update.target_id == created["id"]
    assert update.details == {"fields": ["hourly_fee"]}
    assert _entries("blackout.create")[0].actor_id == operator.id
    assert "long-enough-1" not in str([e.details for e in _entries()])


def test_refused_or_failed_actions_leave_no_entry(api, factory):
    provider, admin, operator = factory.make_provider()
    resource = factory.make_resource(provider)
    before = len(_entries())
    assert api.as_(operator).patch(f"/resources/{resource.id}", json={"name": "x"}).status_code == 403
    assert api.as_(admin).patch(f"/resources/{resource.id}", json={"min_minutes": 5000}).status_code == 422
    assert len(_entries()) == before


def test_only_platform_admins_read_the_audit_log(app, factory, runner):
    provider, admin, _ = factory.make_provider()
    factory.make_resource(provider, name="可追溯的仪器")
    runner.invoke(args=["create-admin", "root@example.test", "--password", "first-password"])
    runner.invoke(args=["create-admin", "root@example.test", "--password", "second-password"])
    assert sign_in(app, admin).get("/admin/audit").status_code == 403
    platform_admin = factory.make_user(role=Role.platform_admin)
    html = sign_in(app, platform_admin).get("/admin/audit").get_data(as_text=True)
    assert "resource.create" in html and "user.password_reset" in html
    assert "second-password" not in html
