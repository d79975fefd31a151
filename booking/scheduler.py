"""``flask --app booking scheduler run|tick`` (SPEC §6): the command-line side of ``booking.jobs``.

``run`` keeps APScheduler's blocking scheduler in the foreground and calls ``jobs.tick`` at the start of every
minute in the platform time zone (and once at start-up, to catch up after downtime). ``tick`` runs every due job
once, as at ``--now`` if given, prints what each did and exits — for cron, for an operator, and for the tests.
"""

import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from . import jobs
from .services.clock import iso, now_utc, platform_tz

log = logging.getLogger(__name__)

scheduler_cli = AppGroup("scheduler", help="Run the scheduled work of SPEC §6.")


def parse_now(value: str | None) -> datetime:
    """An ISO 8601 time; without an offset it is read in the platform time zone, as the API reads times."""
    if not value:
        return now_utc()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not an ISO 8601 time: {value!r}", param_hint="--now") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=platform_tz())
    return moment.astimezone(UTC)


def _report(results: list[jobs.JobResult]) -> None:
    for r in results:
        click.echo(f"{r.job:<24} {r.status:<7} (due {iso(r.due_at)}) {r.outcome}")


@scheduler_cli.command("tick")
@click.option("--now", "now_text", metavar="ISO-TIME", help="Run as at this time (default: the current time).")
def tick_command(now_text: str | None):
    """Run every due job once, as at --now, print what each did, and exit (status 1 if a job failed)."""
    now = parse_now(now_text)
    click.echo(f"tick at {iso(now)}")
    results = jobs.tick(now)
    _report(results)
    if any(r.status == "error" for r in results):
        raise SystemExit(1)


def _tick_in_context(app: Flask) -> None:
    with app.app_context():
        for r in jobs.tick(now_utc()):
            if r.status == "error":
                log.error("%s failed: %s", r.job, r.outcome)
            elif r.status == "ran":
                log.info("%s: %s", r.job, r.outcome)


@scheduler_cli.command("run")
def run_command():
    """Run the scheduler in the foreground: every job, each minute, until interrupted."""
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger

    app = current_app._get_current_object()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    timezone = ZoneInfo(app.config["TIMEZONE"])
    scheduler = BlockingScheduler(timezone=timezone)
    # One tick at a time in this process; a late tick still runs (jobs catch up), two late ones run as one.
    scheduler.add_job(
        _tick_in_context,
        CronTrigger(second=0, timezone=timezone),
        args=[app],
        id="tick",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
        next_run_time=datetime.now(timezone),
    )
    click.echo(f"scheduler running every minute ({timezone.key}); Ctrl-C to stop")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=False)


def register(app: Flask) -> None:
    app.cli.add_command(scheduler_cli)
