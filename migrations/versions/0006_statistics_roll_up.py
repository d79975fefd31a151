"""statistics roll-up

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 23:30:26

The booking sums of each resource for each closed local day (``usage_rollups``), the days rolled up
(``rolled_days``), and an index on the bookings' start that finds one day's bookings of every resource. Nothing is
filled here: the next nightly run rolls up every closed day (see booking/services/rollups.py).
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rolled_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('rolled_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_rolled_days'))
    )
    op.create_table('usage_rollups',
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('ends_at', sa.DateTime(), nullable=False),
    sa.Column('stale', sa.Boolean(), nullable=False),
    sa.Column('rolled_at', sa.DateTime(), nullable=False),
    sa.Column('requests', sa.Integer(), nullable=False),
    sa.Column('approved', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('cancelled', sa.Integer(), nullable=False),
    sa.Column('expired', sa.Integer(), nullable=False),
    sa.Column('no_shows', sa.Integer(), nullable=False),
    sa.Column('rated_1', sa.Integer(), nullable=False),
    sa.Column('rated_2', sa.Integer(), nullable=False),
    sa.Column('rated_3', sa.Integer(), nullable=False),
    sa.Column('rated_4', sa.Integer(), nullable=False),
    sa.Column('rated_5', sa.Integer(), nullable=False),
    sa.Column('effective_seconds', sa.Float(precision=53), nullable=False),
    sa.Column('external_seconds', sa.Float(precision=53), nullable=False),
    sa.Column('sme_seconds', sa.Float(precision=53), nullable=False),
    sa.Column('partner_sme_seconds', sa.Float(precision=53), nullable=False),
    sa.Column('revenue_cents', sa.BigInteger(), nullable=False),
    sa.Column('savings_cent_seconds', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_usage_rollups_resource_id_resources'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('resource_id', 'day', name=op.f('pk_usage_rollups'))
    )
    with op.batch_alter_table('usage_rollups', schema=None) as batch_op:
        batch_op.create_index('ix_usage_rollups_day', ['day', 'resource_id'], unique=False)
        batch_op.create_index('ix_usage_rollups_stale', ['day', 'resource_id'], unique=False,
                              sqlite_where=sa.text('stale = 1'), postgresql_where=sa.text('stale'))
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.create_index('ix_bookings_start', ['start'], unique=False)



def downgrade():
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index('ix_bookings_start')
    with op.batch_alter_table('usage_rollups', schema=None) as batch_op:
        batch_op.drop_index('ix_usage_rollups_stale', sqlite_where=sa.text('stale = 1'),
                            postgresql_where=sa.text('stale'))
        batch_op.drop_index('ix_usage_rollups_day')

    op.drop_table('usage_rollups')
    op.drop_table('rolled_days')
