"""Backups round-trip, and migrations upgrade a database holding data without losing any of it."""

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select

from booking.extensions import db
from booking.models import Booking, Organization, Resource, User

from .conftest import make_app
from .factories import local, next_weekday


@pytest.fixture
def sqlite_app(tmp_path, sqlite_template):
    import shutil

    path = tmp_path / "live.sqlite"
    shutil.copy(sqlite_template, path)
    app = make_app(f"sqlite:///{path}")
    yield app, path


def _seed(factory):
    resource = factory.make_resource(name="三坐标测量机")
    booking = factory.make_booking(resource, factory.make_user(), local(next_weekday(3), 9))
    return resource.id, booking.id


def test_backup_then_restore_brings_back_the_data(app, factory, runner, tmp_path, db_url):
    if not db_url.startswith("sqlite"):
        result = runner.invoke(args=["backup", str(tmp_path / "x.sqlite")])
        assert result.exit_code != 0 and "pg_dump" in result.output
        return
    resource_id, booking_id = _seed(factory)
    target = tmp_path / "backup.sqlite"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    con = sqlite3.connect(target)
    assert con.execute("SELECT count(*) FROM bookings").fetchone()[0] == 1
    con.close()
    again = runner.invoke(args=["backup", str(target)])
    assert again.exit_code != 0 and "exists" in again.output
    # Later changes are undone by restoring the backup.
    db.session.execute(Booking.__table__.update().values(purpose="改过的用途"))
    db.session.execute(Resource.__table__.update().values(name="改名之后"))
    db.session.commit()
    db.session.remove()
    result = runner.invoke(args=["restore", str(target), "--yes"])
    assert result.exit_code == 0, result.output
    db.session.remove()
    assert db.session.scalar(select(func.count(Booking.id))) == 1
    assert db.session.get(Resource, resource_id).name == "三坐标测量机"
    assert db.session.get(Booking, booking_id).purpose != "改过的用途"


def test_restore_refuses_a_file_that_is_not_a_backup(runner, tmp_path, db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("restore applies to SQLite; PostgreSQL uses pg_restore")
    bogus = tmp_path / "notes.sqlite"
    bogus.write_bytes(b"not a database at all" * 100)
    result = runner.invoke(args=["restore", str(bogus), "--yes"])
    assert result.exit_code != 0
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    result = runner.invoke(args=["restore", str(other), "--yes"])
    assert result.exit_code != 0 and "not a backup" in result.output


def test_upgrade_from_the_first_revision_keeps_every_row(tmp_path):
    """A database at revision 0001 holding data is upgraded to the latest revision; nothing is lost."""
    path = tmp_path / "old.sqlite"
    app = make_app(f"sqlite:///{path}")
    with app.app_context():
        upgrade(revision="0001")
        now = datetime.now(UTC).replace(tzinfo=None)
        con = db.engine.raw_connection()
        cur = con.cursor()
        cur.execute(
            "INSERT INTO organizations (id, name, kind, city, industry, credit_code, contact_name, contact_phone,"
            " contact_email, created_at) VALUES (1, '老数据单位', 'lead_enterprise', '430200', 'rail_transit',"
            " '91430000MA4X000001', '', '', '', ?)",
            (now,),
        )
        cur.execute(
            "INSERT INTO users (id, email, name, password_hash, role, organization_id, is_active_user, created_at)"
            " VALUES (1, 'old@example.test', '老用户', 'x', 'org_admin', 1, 1, ?)",
            (now,),
        )
        cur.execute(
            "INSERT INTO resources (id, organization_id, kind, name, description, model, manufacturer, serial_no,"
            " location, city, measurement_range, uncertainty, traceability_institution, certificate_no, status,"
            " sharing_mode, rated_hours_per_year, hourly_fee, partner_hourly_fee, slot_minutes, min_minutes,"
            " max_minutes, lead_hours, horizon_days, capacity, approval, check_in_required, lock_version,"
            " created_at, updated_at) VALUES (1, 1, 'instrument', '老仪器', '', '', '', '', '', '430200', '', '',"
            " '', '', 'normal', 'self_operated', 1400, 100, 80, 30, 30, 480, 24, 60, 1, 'always', 0, 0, ?, ?)",
            (now, now),
        )
        start = now + timedelta(days=3)
        cur.execute(
            'INSERT INTO bookings (id, resource_id, requester_id, organization_id, start, "end", purpose,'
            " sample_description, status, is_partner, decision_note, auto_approved, ever_approved,"
            " cancelled_by_owner, counts_as_no_show, rating_comment, sequence, created_at, updated_at)"
            " VALUES (1, 1, 1, 1, ?, ?, '老预约', '', 'approved', 0, '', 0, 1, 0, 0, '', 2, ?, ?)",
            (start, start + timedelta(hours=1), now, now),
        )
        con.commit()
        con.close()
        upgrade()
        db.session.remove()
        assert db.session.get(Organization, 1).name == "老数据单位"
        assert db.session.get(User, 1).email == "old@example.test"
        assert db.session.get(Resource, 1).name == "老仪器"
        # The catalog finds the old resource by its owner's name and its own, two characters being the usual Chinese
        # query (revision 0005 filled the search text and its bigram index).
        from booking.services.availability import search_resources

        for q in ("老数", "老数据", "仪器"):
            assert [r.id for r in db.session.scalars(search_resources({"q": q}))] == [1], q
        booking = db.session.get(Booking, 1)
        assert (booking.purpose, booking.sequence, booking.status.value) == ("老预约", 2, "approved")
        db.engine.dispose()


def test_migrations_match_the_models(tmp_path):
    """The latest revision creates exactly the schema the models describe (nothing left to autogenerate)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    app = make_app(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        db.engine.dispose()
    assert diff == []
