"""How units of work begin (booking/database.py): on PostgreSQL a read runs without a transaction (no BEGIN, no
ROLLBACK around each page of the API) and refuses to write; a writer is one transaction, as before."""

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import event, func, select, text, update

from booking.database import WriteInReadOnlyWork, read_only
from booking.extensions import db
from booking.models import Organization
from booking.models.enums import OrgKind
from booking.services.booking_sums import tune_session

from .booking_checks import booking_body
from .factories import next_weekday


@pytest.fixture
def pg_only(db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("a read without a transaction is PostgreSQL's (SQLite reads in a shared one)")


def _watch(app):
    """(statement, transaction status of the connection once it ran) for each statement the serving app sends."""
    seen = []

    def after(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement.split(None, 1)[0].upper(), conn.connection.dbapi_connection.info.transaction_status))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "after_cursor_execute", after)
    return seen, lambda: event.remove(engine, "after_cursor_execute", after)


def test_a_read_on_postgresql_begins_no_transaction_and_a_write_is_one(pg_only, app, api, factory):
    provider, _admin, _operator = factory.make_provider()
    resource = factory.make_resource(provider)
    sme = factory.make_org(kind=OrgKind.sme)
    factory.make_partnership(provider, sme)
    booker = api.as_(factory.make_user(sme))
    seen, stop = _watch(app)
    try:
        assert booker.get("/me").status_code == 200
        assert booker.get(f"/bookings?resource_id={resource.id}").status_code == 200
        reads = list(seen)
        seen.clear()
        response = booker.post("/bookings", json=booking_body(resource, next_weekday(3), 9, 11))
        assert response.status_code == 201, response.get_json()
        writes = list(seen)
    finally:
        stop()
    assert reads and all(status == TransactionStatus.IDLE for _verb, status in reads), reads
    assert "BEGIN" not in [verb for verb, _status in reads]
    # The writer begins first and runs every statement, its lock and its insert, inside that one transaction.
    assert writes[0] == ("BEGIN", TransactionStatus.INTRANS), writes
    assert all(status == TransactionStatus.INTRANS for _verb, status in writes), writes
    assert "INSERT" in [verb for verb, _status in writes]


def test_a_writer_on_postgresql_is_still_one_transaction_that_a_rollback_undoes(pg_only, app, factory):
    org = factory.make_org(kind=OrgKind.sme, name="改名之前")
    with app.app_context():
        db.session.execute(update(Organization).where(Organization.id == org.id).values(name="未提交的名字"))
        db.session.rollback()
        assert db.session.scalar(select(Organization.name).where(Organization.id == org.id)) == "改名之前"


def test_a_read_only_unit_of_work_that_writes_is_refused_on_postgresql(pg_only, app, factory):
    org = factory.make_org(kind=OrgKind.sme, name="只读之中")
    with app.app_context(), read_only():
        with pytest.raises(WriteInReadOnlyWork):
            db.session.execute(update(Organization).where(Organization.id == org.id).values(name="不该写入"))
        db.session.rollback()
        assert db.session.scalar(select(func.count()).where(Organization.name == "不该写入")) == 0


def test_a_statistics_read_on_postgresql_keeps_its_settings_for_the_read(pg_only, app):
    """``SET LOCAL`` lasts one transaction: a read, which begins none, begins one for the statistics' settings."""
    with app.app_context(), read_only():
        default = db.session.execute(text("SHOW work_mem")).scalar_one()
        tune_session()
        assert db.session.execute(text("SHOW work_mem")).scalar_one() == "32MB"
        assert db.session.execute(text("SHOW jit")).scalar_one() == "off"
        db.session.rollback()
        assert db.session.execute(text("SHOW work_mem")).scalar_one() == default
