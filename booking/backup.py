"""Backups of the embedded SQLite database: ``flask --app booking backup PATH`` and ``restore PATH``.

SQLite's online backup API copies a consistent snapshot while the platform keeps serving. PostgreSQL deployments
use ``pg_dump``/``pg_restore`` (the README gives the recipe); these commands say so instead of pretending.
"""

import sqlite3
from pathlib import Path

import click
from flask import Flask
from sqlalchemy.engine import make_url

from .extensions import db

PG_RECIPE = (
    "This database is PostgreSQL: back it up with pg_dump, e.g.\n"
    '  pg_dump --format=custom --file=booking.dump "$BOOKING_DATABASE_URL"\n'
    "and restore with\n"
    '  pg_restore --clean --if-exists --dbname="$BOOKING_DATABASE_URL" booking.dump'
)


def sqlite_path() -> Path | None:
    url = make_url(db.engine.url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def _copy(source: Path, target: Path, progress) -> None:
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst, pages=256, progress=lambda status, remaining, total: progress(total - remaining, total))
    finally:
        dst.close()
        src.close()


def _check(path: Path) -> None:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        result = con.execute("PRAGMA integrity_check").fetchone()[0]
        tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise click.ClickException(f"{path} is not a readable SQLite database: {exc}") from None
    finally:
        con.close()
    if result != "ok":
        raise click.ClickException(f"{path} fails the integrity check: {result}")
    if "alembic_version" not in tables or "bookings" not in tables:
        raise click.ClickException(f"{path} is not a backup of this platform")


def register_backup_commands(app: Flask) -> None:
    def bar(label):
        state = {"bar": None}

        def progress(done, total):
            if state["bar"] is None:
                state["bar"] = click.progressbar(length=max(total, 1), label=label)
                state["bar"].__enter__()
            state["bar"].update(done - state["bar"].pos)
            if done >= total:
                state["bar"].__exit__(None, None, None)

        return progress

    @app.cli.command("backup")
    @click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
    def backup(path: Path):
        """Copy the database to PATH while the platform keeps running (SQLite online backup)."""
        source = sqlite_path()
        if source is None:
            raise click.ClickException(PG_RECIPE)
        if path.exists():
            raise click.ClickException(f"{path} exists; choose a new file")
        db.session.remove()
        _copy(source, path, bar("Backing up"))
        _check(path)
        click.echo(f"Backed up {source} to {path} ({path.stat().st_size:,} bytes)")

    @app.cli.command("restore")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--yes", is_flag=True, help="Replace the current data without asking.")
    def restore(path: Path, yes: bool):
        """Replace the database with the backup at PATH (stop the web and scheduler processes first)."""
        target = sqlite_path()
        if target is None:
            raise click.ClickException(PG_RECIPE)
        _check(path)
        if not yes:
            click.confirm(f"Replace all data in {target} with {path}?", abort=True)
        db.session.remove()
        db.engine.dispose()
        _copy(path, target, bar("Restoring"))
        click.echo(f"Restored {target} from {path}")
