"""resource search text and its bigram index

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 21:30:00

The catalog's ``q`` matched six columns of two tables with ``lower(…) LIKE '%…%'``, which reads every resource.
One lower-cased column now holds the same text, and ``resource_terms`` every distinct two-character substring of it
(an inverted index that serves the two-character Chinese queries a trigram index cannot; see models/search.py).
Both are filled here for the existing rows, computed as the application computes them.
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# Frozen copies of the application's rules as of this revision (models/search.py).
SEARCHED = ("name", "model", "manufacturer", "description", "measurement_range")
SEPARATOR = "\x1f"
BATCH = 500


def _terms_of(text):
    return {text[i:i + 2] for i in range(len(text) - 1) if SEPARATOR not in text[i:i + 2]}


def upgrade():
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_text', sa.Text(), nullable=False, server_default=''))
    terms = op.create_table(
        'resource_terms',
        sa.Column('term', sa.String(length=2), nullable=False),
        sa.Column('resource_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_resource_terms_resource_id_resources'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('term', 'resource_id', name=op.f('pk_resource_terms')),
    )
    with op.batch_alter_table('resource_terms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resource_terms_resource_id'), ['resource_id'], unique=False)

    bind = op.get_bind()
    resources = sa.table('resources', sa.column('id'), sa.column('organization_id'), sa.column('search_text'),
                         *(sa.column(name) for name in SEARCHED))
    organizations = sa.table('organizations', sa.column('id'), sa.column('name'))
    rows = bind.execute(
        sa.select(resources.c.id, organizations.c.name.label('owner'), *(resources.c[name] for name in SEARCHED))
        .join(organizations, organizations.c.id == resources.c.organization_id)
        .order_by(resources.c.id)
    ).mappings().all()
    update = resources.update().where(resources.c.id == sa.bindparam('rid')).values(search_text=sa.bindparam('text'))
    for i in range(0, len(rows), BATCH):
        texts = {
            row['id']: SEPARATOR.join([*(row[name] or "" for name in SEARCHED), row['owner'] or ""]).lower()
            for row in rows[i:i + BATCH]
        }
        bind.execute(update, [{'rid': rid, 'text': text} for rid, text in texts.items()])
        found = [{'term': term, 'resource_id': rid} for rid, text in texts.items() for term in sorted(_terms_of(text))]
        if found:
            bind.execute(terms.insert(), found)


def downgrade():
    with op.batch_alter_table('resource_terms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resource_terms_resource_id'))
    op.drop_table('resource_terms')
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.drop_column('search_text')
