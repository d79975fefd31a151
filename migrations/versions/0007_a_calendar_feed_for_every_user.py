"""a private calendar feed for every user

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 18:40:00

Users got a private feed only when they asked for a new link, so ``GET /api/v1/me`` answered ``calendar_url: null``
to everyone else. Now every user has one from creation; the users without one get it here.

The feed token is HMAC(secret key, user id and nonce), and the lookup column holds the token's SHA-256, so this
revision needs the application's secret key: ``flask db upgrade`` runs inside the application (migrations/env.py
takes the database from it too), so it reads the same ``SECRET_KEY`` the servers sign with — run it with the
production configuration, as every revision is. Nothing is stored that yields a working URL without that key.
"""

import hashlib
import hmac
import secrets

import sqlalchemy as sa
from alembic import op
from flask import current_app

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

BATCH = 500


# A frozen copy of the application's rule as of this revision (services/accounts.py, calendar_token).
def _token(key, user_id, nonce):
    return hmac.new(key, f"calendar:{user_id}:{nonce}".encode(), hashlib.sha256).hexdigest()[:40]


def upgrade():
    key = current_app.config["SECRET_KEY"].encode()
    bind = op.get_bind()
    users = sa.table('users', sa.column('id'), sa.column('calendar_nonce'), sa.column('calendar_token_hash'))
    ids = bind.execute(sa.select(users.c.id).where(users.c.calendar_nonce.is_(None)).order_by(users.c.id)).scalars()
    ids = list(ids)
    update = (
        users.update()
        .where(users.c.id == sa.bindparam('uid'))
        .values(calendar_nonce=sa.bindparam('nonce'), calendar_token_hash=sa.bindparam('token_hash'))
    )
    for i in range(0, len(ids), BATCH):
        rows = []
        for user_id in ids[i:i + BATCH]:
            nonce = secrets.token_hex(16)
            token_hash = hashlib.sha256(_token(key, user_id, nonce).encode()).hexdigest()
            rows.append({'uid': user_id, 'nonce': nonce, 'token_hash': token_hash})
        bind.execute(update, rows)


def downgrade():
    # The feeds given here cannot be told from those the users asked for; they stay.
    pass
