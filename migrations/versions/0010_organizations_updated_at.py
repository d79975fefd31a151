"""organizations record when they last changed

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 00:40:00

A calendar event shows the names of the requesting and the providing organization, so a feed's ``Last-Modified``
must move when either is renamed: ``organizations.updated_at``, moved on every write. Existing rows start from their
``created_at``.
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


# SQLite adds a NOT NULL column only with a constant default, and changing it afterwards would rebuild a table
# that others reference; the placeholder is overwritten at once by each row's created_at.
PLACEHOLDER = '2000-01-01 00:00:00.000000'


def upgrade():
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(), server_default=PLACEHOLDER, nullable=False))
    organizations = sa.table(
        'organizations', sa.column('created_at', sa.DateTime()), sa.column('updated_at', sa.DateTime())
    )
    op.execute(organizations.update().values(updated_at=organizations.c.created_at))
    if op.get_bind().dialect.name != 'sqlite':
        op.alter_column('organizations', 'updated_at', server_default=None)


def downgrade():
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_column('updated_at')
