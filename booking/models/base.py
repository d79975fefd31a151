"""Column types and helpers shared by the models."""

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """An aware UTC datetime, stored as naive UTC on every engine so that comparisons index the same way."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return datetime.combine(value.date(), value.time(), UTC)

    def result_processor(self, dialect, coltype):
        """Reading is what lists and calendars do most, so each engine gets its quickest way to an aware value:
        ``combine`` rather than ``replace`` (several times slower with a keyword), and on SQLite, which stores
        the text ``YYYY-MM-DD HH:MM:SS.ffffff``, one ``fromisoformat`` of that text marked UTC."""
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        def process(value):
            if value is None:
                return None
            if isinstance(value, str):
                return datetime.fromisoformat(value + "+00:00")
            return self.process_result_value(value, dialect)

        return process
