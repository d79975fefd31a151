"""flask commands: create-admin, demo, scheduler run|tick, backup, restore."""

import click
from flask import Flask

from .extensions import db


def register_cli(app: Flask) -> None:
    from .backup import register_backup_commands
    from .scheduler import register as register_scheduler

    register_scheduler(app)
    register_backup_commands(app)

    @app.cli.command("create-admin")
    @click.argument("email")
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    def create_admin(email: str, password: str):
        """Create a platform_admin (in the 平台运营 organization) or reset that user's password."""
        from .services.accounts import ensure_platform_admin
        from .services.errors import DomainError

        try:
            user, created = ensure_platform_admin(email, password)
        except DomainError as exc:
            db.session.rollback()
            raise click.ClickException(f"{exc.message} {exc.fields or ''}".strip()) from None
        db.session.commit()
        click.echo(f"{'Created' if created else 'Password reset for'} platform admin {user.email}")

    @app.cli.command("demo")
    @click.option("--if-empty", is_flag=True, help="Load only when the database has no organizations.")
    def demo(if_empty: bool):
        """Load the demo program (fictional organizations, resources and bookings; password demo12345)."""
        from .demo import database_is_empty, load_demo

        if if_empty and not database_is_empty():
            click.echo("The database already holds data; demo not loaded.")
            return
        state = {}

        def bar(done: int, total: int) -> None:
            if "bar" not in state:
                state["bar"] = click.progressbar(length=total, label="Bookings by resource", show_pos=True)
                state["bar"].__enter__()
            state["bar"].update(done - state["bar"].pos)
            if done >= total:
                state["bar"].__exit__(None, None, None)

        load_demo(progress=click.echo, bar=bar)
        db.session.commit()
        click.echo(
            "Demo loaded. Sign in as admin@demo.example, province@, city@, provider@, operator@, sme@ or "
            "sme2@demo.example with the password demo12345."
        )
