"""browser sessions end at sign-out and at a password change

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 18:45:00

``users.session_version`` is carried by each browser session and moved on by a password change; ``ended_sessions``
holds the hashed keys of signed-out sessions until their cookies would have expired. Sessions signed in before this
revision carry neither, so everyone signs in once more.
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ended_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ended_sessions'))
    )
    with op.batch_alter_table('ended_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ended_sessions_ended_at'), ['ended_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ended_sessions_key_hash'), ['key_hash'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_version')

    with op.batch_alter_table('ended_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ended_sessions_key_hash'))
        batch_op.drop_index(batch_op.f('ix_ended_sessions_ended_at'))

    op.drop_table('ended_sessions')
