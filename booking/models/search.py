"""The catalog's text search (SPEC §3 ``q``): one lower-cased text per resource, and its bigrams.

Chinese queries are mostly two characters (光谱, 热像, 华测), too short for a trigram index, so no index of the
engine's serves ``LIKE '%q%'`` and every query would read every resource. ``resource_terms`` is an inverted index of
our own, the same on SQLite and PostgreSQL: each distinct two-character substring of a resource's search text. A
query narrows to the resources holding all of its bigrams, and a substring test on those few decides, so the
answer is exactly what the substring test alone would give. The events below keep text and terms in step with every
ORM write; the bulk loader of the benchmarks writes both itself, with the same functions.
"""

from sqlalchemy import ForeignKey, String, delete, event, insert, inspect, select
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .organization import Organization
from .resource import Resource

SEARCHED = ("name", "model", "manufacturer", "description", "measurement_range")
SEPARATOR = "\x1f"  # a control character nobody types, so no match spans two fields


def search_text_of(fields: dict, organization_name: str) -> str:
    """The text the catalog matches ``q`` against (SPEC §3): the searched fields and the owner's name."""
    return SEPARATOR.join([*(fields.get(name) or "" for name in SEARCHED), organization_name or ""]).lower()


def terms_of(text: str) -> set[str]:
    """The distinct two-character substrings of ``text`` that do not cross a field boundary."""
    return {text[i : i + 2] for i in range(len(text) - 1) if SEPARATOR not in text[i : i + 2]}


class ResourceTerm(db.Model):
    """One bigram of a resource's search text; the primary key (term first) is the index a query reads."""

    __tablename__ = "resource_terms"

    term: Mapped[str] = mapped_column(String(2), primary_key=True)
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True, index=True
    )


def store_terms(connection, texts: dict[int, str]) -> None:
    """Replace the terms of the resources ``texts`` maps (resource id → search text)."""
    if not texts:
        return
    table = ResourceTerm.__table__
    connection.execute(delete(table).where(table.c.resource_id.in_(list(texts))))
    rows = [{"term": term, "resource_id": rid} for rid, text in texts.items() for term in sorted(terms_of(text))]
    if rows:
        connection.execute(insert(table), rows)


@event.listens_for(Resource, "before_insert")
@event.listens_for(Resource, "before_update")
def _keep_search_text(_mapper, connection, resource: Resource) -> None:
    owner = connection.scalar(select(Organization.name).where(Organization.id == resource.organization_id))
    resource.search_text = search_text_of({name: getattr(resource, name) for name in SEARCHED}, owner)


@event.listens_for(Resource, "after_insert")
@event.listens_for(Resource, "after_update")
def _keep_terms(_mapper, connection, resource: Resource) -> None:
    # An update that leaves the text as it was (a booking bumping lock_version, a fee change) rewrites nothing.
    if inspect(resource).attrs.search_text.history.has_changes():
        store_terms(connection, {resource.id: resource.search_text})


@event.listens_for(Organization, "after_update")
def _rename_in_search_text(_mapper, connection, organization: Organization) -> None:
    """A renamed organization is found by its new name in the catalog: its resources' text and terms follow."""
    if not inspect(organization).attrs.name.history.has_changes():
        return
    table = Resource.__table__
    rows = connection.execute(
        select(table.c.id, *(table.c[name] for name in SEARCHED)).where(table.c.organization_id == organization.id)
    ).mappings()
    texts = {row["id"]: search_text_of(row, organization.name) for row in rows}
    for rid, text in texts.items():
        connection.execute(table.update().where(table.c.id == rid).values(search_text=text))
    store_terms(connection, texts)
