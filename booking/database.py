"""How the platform talks to its database engines, and how writers are serialised.

On both engines the driver is in autocommit (on PostgreSQL the engine's ``isolation_level``, set by
``config.load_config``) and the platform begins its transactions itself, in the "begin" event below, so that what a
unit of work may do decides how it begins. Every unit of work that may write (any request but GET/HEAD/OPTIONS,
every CLI command and job) begins a transaction; what a read-only one (``write_intent`` false) begins depends on the
engine.

SQLite: WAL journal, a busy timeout. pysqlite would otherwise run reads outside any transaction and open one lazily
at the first write, so a capacity check could read before it holds any lock. A writer begins with
``BEGIN IMMEDIATE``: it takes SQLite's single write lock *before* its first read, so "read the bookings that
overlap, then insert" cannot interleave with another writer. Reads begin with a plain ``BEGIN`` and, under WAL, run
beside the writer, each on one snapshot.

PostgreSQL: a writer begins with ``BEGIN`` (READ COMMITTED), and the services lock the row of the resource they book
(``SELECT … FOR UPDATE``) before reading its bookings; see ``booking.services.locks``. A read begins nothing: under
READ COMMITTED each statement sees a snapshot of its own inside a transaction or not, so a transaction would only
add a BEGIN and a ROLLBACK to every page of the API, and the driver's switching in and out of autocommit (for the
pool's ping, for instance) would cost more again. Such a read that tries to write is refused
(``WriteInReadOnlyWork``): its statements would not be one transaction.
"""

import contextvars
import sqlite3
from contextlib import contextmanager

from sqlalchemy import event, func, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine

# Whether the current unit of work may write. Defaults to True so that the CLI, jobs and tests are safe; the web
# layer sets it to False for safe HTTP methods.
write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=True)

SQLITE_BUSY_TIMEOUT_MS = 30_000


@contextmanager
def read_only():
    token = write_intent.set(False)
    try:
        yield
    finally:
        write_intent.reset(token)


@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_connection, connection_record):
    if not type(dbapi_connection).__module__.startswith("sqlite3"):
        return
    # Take transaction control away from the driver; "begin" below issues BEGIN.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode")
    if cursor.fetchone()[0] not in ("wal", "memory"):
        cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _begin(conn):
    name = conn.dialect.name
    if name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")
    elif name == "postgresql" and write_intent.get():
        # A connection asked for autocommit (VACUUM, for one, refuses to run in a transaction) gets none.
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            conn.exec_driver_sql("BEGIN")


# What a statement that changes the database begins with.
_WRITES = ("INSERT", "UPDATE", "DELETE", "MERGE", "CREATE", "DROP", "ALTER", "TRUNCA")


class WriteInReadOnlyWork(RuntimeError):
    """A unit of work declared read-only (a GET, ``read_only()``) sent a statement that writes, on PostgreSQL where
    it runs without a transaction, so that its writes would not be atomic: a fault of the program."""


@event.listens_for(Engine, "before_cursor_execute")
def _refuse_writes_outside_transactions(conn, cursor, statement, parameters, context, executemany):
    if (
        not write_intent.get()
        and conn.dialect.name == "postgresql"
        and statement.lstrip()[:6].upper().startswith(_WRITES)
    ):
        raise WriteInReadOnlyWork(f"a read-only unit of work sent: {statement[:80]}")


def transaction_for_settings(session) -> None:
    """Make sure that the unit of work of ``session`` runs in a transaction on PostgreSQL, where a read begins none:
    for settings that last one transaction (``SET LOCAL``), which outside one would warn and do nothing. The
    transaction ends with the unit of work (the session's rollback or commit)."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return
    from psycopg.pq import TransactionStatus

    if connection.connection.dbapi_connection.info.transaction_status == TransactionStatus.IDLE:
        connection.exec_driver_sql("BEGIN")


def advance_sequences(session) -> None:
    """After a bulk load that wrote explicit ids: set each table's id sequence past its largest id, so the next row
    the platform inserts gets a free id. PostgreSQL only (a serial or identity column keeps its own counter);
    SQLite's next rowid is always past the largest one, so there it does nothing. Call it after every load that
    writes ids itself (the demo's year, the benchmarks' data set)."""
    from .extensions import db

    if session.get_bind().dialect.name != "postgresql":
        return
    for table in db.metadata.sorted_tables:
        column = table.autoincrement_column
        if column is None:
            continue
        sequence = func.pg_get_serial_sequence(table.name, column.name)
        # Never backwards: a row another transaction numbered but has not committed keeps its id.
        following = func.greatest(func.coalesce(func.max(column), 0) + 1, func.nextval(sequence))
        session.execute(select(func.setval(sequence, following, False)).select_from(table))


# SQLite result codes (by name, without their extended suffix) that mean the database cannot be used right now: the
# disk is full, the file is read-only or cannot be opened, or the lock was not had within the busy timeout. Other
# errors (a missing table, a syntax error) are faults of the program and stay so.
_SQLITE_UNAVAILABLE = (
    "SQLITE_FULL",
    "SQLITE_READONLY",
    "SQLITE_CANTOPEN",
    "SQLITE_IOERR",
    "SQLITE_BUSY",
    "SQLITE_PERM",
)
# PostgreSQL: a read-only server (a standby, or default_transaction_read_only) refuses writes with this SQLSTATE.
_READ_ONLY_SQLSTATE = "25006"


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database is lost or cannot be written (disconnected, unreachable, disk full,
    read-only) rather than that the request or the program is wrong."""
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if exc.connection_invalidated or isinstance(exc, sa_exc.InterfaceError):
        return True
    orig = exc.orig
    if isinstance(orig, sqlite3.Error):
        return str(getattr(orig, "sqlite_errorname", "")).startswith(_SQLITE_UNAVAILABLE)
    if isinstance(exc, sa_exc.OperationalError):
        return True
    return getattr(orig, "sqlstate", None) == _READ_ONLY_SQLSTATE
