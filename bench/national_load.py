"""Loading the national data set (``national_data.Generator``) into the database of the current app.

The data goes in with the engine's bulk path (PostgreSQL ``COPY``; SQLite ``executemany`` in one transaction),
each value passed through the column type's own bind processor so it is stored exactly as the application stores it.
"""

import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import click
from sqlalchemy import Table, insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from national_data import GENERATOR, Generator  # noqa: E402

from booking.database import advance_sequences  # noqa: E402
from booking.extensions import db  # noqa: E402
from booking.models.search import terms_of  # noqa: E402

BOOKING_COLUMNS = (
    "id resource_id requester_id organization_id start end purpose sample_description status fee hourly_rate "
    "is_partner decision_note decided_by_id decided_at auto_approved ever_approved checked_in_at checked_out_at "
    "cancelled_by_owner counts_as_no_show rating rating_comment rated_at sequence created_at updated_at"
).split()


def _bulk(table: Table, rows: list[dict], label: str) -> None:
    """Small tables through SQLAlchemy's batched INSERT (their types applied as usual)."""
    clean = [{k: v for k, v in row.items() if not k.startswith("_")} for row in rows]
    with click.progressbar(length=len(clean), label=f"{label:<14}", file=sys.stderr) as bar:
        for i in range(0, len(clean), 5000):
            db.session.execute(insert(table), clean[i : i + 5000])
            bar.update(len(clean[i : i + 5000]))


def _processors(table: Table, dialect) -> list:
    return [table.c[name].type.bind_processor(dialect) for name in BOOKING_COLUMNS]


def load_bookings(rows: Iterator[tuple], total: int) -> None:
    """The bookings through the engine's bulk path, in the session's transaction."""
    table = db.metadata.tables["bookings"]
    connection = db.session.connection()
    dialect = connection.dialect
    raw = connection.connection.driver_connection
    columns = ", ".join(f'"{c}"' for c in BOOKING_COLUMNS)
    with click.progressbar(length=total, label=f"{'bookings':<14}", file=sys.stderr) as bar:
        if dialect.name == "postgresql":
            processors = _processors(table, dialect)
            with raw.cursor().copy(f"COPY bookings ({columns}) FROM STDIN") as copy:
                for n, row in enumerate(rows, 1):
                    copy.write_row([p(v) if p else v for p, v in zip(processors, row, strict=True)])
                    if n % 20000 == 0:
                        bar.update(20000)
        else:
            processors = _processors(table, dialect)
            marks = ", ".join("?" * len(BOOKING_COLUMNS))
            statement = f"INSERT INTO bookings ({columns}) VALUES ({marks})"
            batch = []
            for row in rows:
                batch.append([p(v) if p else v for p, v in zip(processors, row, strict=True)])
                if len(batch) == 20000:
                    raw.executemany(statement, batch)
                    bar.update(len(batch))
                    batch = []
            raw.executemany(statement, batch)
        bar.update(total - bar.pos)


def load_terms(resources: list[dict]) -> None:
    """The catalog's bigram index for the resources ``_bulk`` loaded past the ORM events that keep it
    (booking.models.search), from the same ``terms_of``."""
    connection = db.session.connection()
    raw = connection.connection.driver_connection
    with click.progressbar(length=len(resources), label=f"{'search terms':<14}", file=sys.stderr) as bar:
        if connection.dialect.name == "postgresql":
            with raw.cursor().copy("COPY resource_terms (term, resource_id) FROM STDIN") as copy:
                for n, resource in enumerate(resources, 1):
                    for term in sorted(terms_of(resource["search_text"])):
                        copy.write_row((term, resource["id"]))
                    if n % 1000 == 0:
                        bar.update(1000)
        else:
            batch = []
            for n, resource in enumerate(resources, 1):
                batch += [(term, resource["id"]) for term in sorted(terms_of(resource["search_text"]))]
                if n % 1000 == 0:
                    raw.executemany("INSERT INTO resource_terms (term, resource_id) VALUES (?, ?)", batch)
                    bar.update(1000)
                    batch = []
            raw.executemany("INSERT INTO resource_terms (term, resource_id) VALUES (?, ?)", batch)
        bar.update(len(resources) - bar.pos)


def generate(resources: int, bookings: int, as_of: date, seed: int = 2026) -> dict:
    """Fill the (migrated, empty) database of the current app; returns what the benchmarks need to know."""
    from werkzeug.security import generate_password_hash

    gen = Generator(resources, bookings, as_of, seed)
    gen.organizations(generate_password_hash("benchpass1"))
    gen.partnerships_and_resources()
    tables = db.metadata.tables
    _bulk(tables["organizations"], gen.orgs, "organizations")
    _bulk(tables["users"], gen.users, "users")
    _bulk(tables["partnerships"], gen.partnerships, "partnerships")
    _bulk(tables["resources"], gen.resources, "resources")
    load_terms(gen.resources)
    _bulk(tables["opening_hours"], gen.hours, "opening hours")
    _bulk(tables["blackouts"], gen.blackouts, "blackouts")
    load_bookings(gen.bookings(), bookings)
    advance_sequences(db.session)  # every row above carries its own id
    loaded = db.session.scalar(text("SELECT count(*) FROM bookings"))
    return {
        "generator": GENERATOR,
        "resources": resources,
        "bookings": bookings,
        "bookings_loaded": loaded,  # a little under ``bookings``: a resource takes at most two per open day
        "as_of": as_of.isoformat(),
        "seed": seed,
        "feed_sme": gen.smes[0][0],
        "feed_member": gen.smes[0][2],
    }
