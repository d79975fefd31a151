"""SQL functions that each engine spells its own way, as SQLAlchemy constructs."""

from sqlalchemy import Float, Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


def portable_function(name: str, type_, sqlite: str, postgresql: str, doc: str) -> type:
    """A function element rendered from ``sqlite`` (the default) or ``postgresql``, templates whose ``{0}``,
    ``{1}``… are the compiled arguments."""
    element = type(name, (FunctionElement,), {"type": type_, "inherit_cache": True, "name": name, "__doc__": doc})

    @compiles(element)
    def _default(element, compiler, **kw):
        return sqlite.format(*(compiler.process(arg, **kw) for arg in element.clauses))

    @compiles(element, "postgresql")
    def _postgresql(element, compiler, **kw):
        return postgresql.format(*(compiler.process(arg, **kw) for arg in element.clauses))

    return element


seconds_between = portable_function(
    "seconds_between",
    Float(),
    "((julianday({1}) - julianday({0})) * 86400.0)",
    "CAST(EXTRACT(EPOCH FROM ({1} - {0})) AS DOUBLE PRECISION)",
    "``seconds_between(earlier, later)``: later − earlier in seconds, as a float.",
)

text_position = portable_function(
    "text_position",
    Integer(),
    "instr({0}, {1})",
    "strpos({0}, {1})",
    "``text_position(haystack, needle)``: where ``needle`` first occurs in ``haystack`` (1-based), 0 when it does "
    "not — a plain substring search, cheaper than ``LIKE '%…%'`` on either engine and with no wildcard to escape.",
)


def insert_for(bind):
    """The ``insert`` of ``bind``'s engine (a session's bind or a connection) that has ``ON CONFLICT`` clauses:
    both engines spell them alike, but SQLAlchemy offers them per dialect."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return pg_insert if bind.dialect.name == "postgresql" else sqlite_insert
