"""resource search text, with a trigram index on PostgreSQL

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 21:30:00

The catalog's ``q`` matched six columns of two tables with ``lower(…) LIKE '%…%'``, which reads every resource.
One lower-cased column holds the same text; on PostgreSQL a GIN trigram index (pg_trgm, a trusted extension since
PostgreSQL 13) answers the infix ``LIKE`` from the index. Where the extension cannot be created, the index is left
out and the search still works, reading the one column.
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

SEARCHED = ("name", "model", "manufacturer", "description", "measurement_range")
SEPARATOR = "\x1f"


def upgrade():
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_text', sa.Text(), nullable=False, server_default=''))

    # The text as the application computes it (Python's lower-casing, not the engine's).
    bind = op.get_bind()
    resources = sa.table('resources', sa.column('id'), sa.column('organization_id'), sa.column('search_text'),
                         *(sa.column(name) for name in SEARCHED))
    organizations = sa.table('organizations', sa.column('id'), sa.column('name'))
    rows = bind.execute(
        sa.select(resources.c.id, organizations.c.name.label('owner'), *(resources.c[name] for name in SEARCHED))
        .join(organizations, organizations.c.id == resources.c.organization_id)
    ).mappings().all()
    for row in rows:
        text = SEPARATOR.join([*(row[name] or "" for name in SEARCHED), row['owner'] or ""]).lower()
        bind.execute(resources.update().where(resources.c.id == row['id']).values(search_text=text))

    if bind.dialect.name == 'postgresql':
        schema = _trigram_schema(bind)
        if schema is not None:
            op.execute(
                f'CREATE INDEX ix_resources_search_trgm ON resources USING gin (search_text "{schema}".gin_trgm_ops)'
            )


def _trigram_schema(bind):
    """The schema of pg_trgm, created in ``public`` when missing; ``None`` when it cannot be had."""
    found = bind.execute(
        sa.text("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
                "WHERE e.extname = 'pg_trgm'")
    ).scalar()
    if found is not None:
        return found
    available = bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).scalar()
    if not available:
        return None
    savepoint = bind.begin_nested()
    try:
        bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public"))
    except sa.exc.DBAPIError:  # no privilege to create it: search without the index
        savepoint.rollback()
        return None
    savepoint.commit()
    return 'public'


def downgrade():
    op.execute('DROP INDEX IF EXISTS ix_resources_search_trgm')
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.drop_column('search_text')
