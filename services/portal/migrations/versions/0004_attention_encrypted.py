"""portal: the inbox's attention reasons (free text) encrypted at rest

The column becomes text holding the encrypted JSON list (netsterk.crypto.EncryptedJSON); the
rows there are encrypted in place. Downgrade decrypts them back into a JSON column.

Revision ID: portal_0004_attention_encrypted
"""
import json

import sqlalchemy as sa
from alembic import op

revision = "portal_0004_attention_encrypted"
down_revision = "portal_0003"
branch_labels = None
depends_on = None

TASK = sa.table("task", sa.column("referral_id", sa.String), sa.column("attention", sa.Text))


def _rewrite(convert) -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(TASK.c.referral_id, TASK.c.attention)).all()
    for referral_id, value in rows:
        connection.execute(TASK.update().where(TASK.c.referral_id == referral_id)
                           .values(attention=convert(value)))


def upgrade():
    from netsterk.crypto import encrypt

    with op.batch_alter_table("task") as batch:
        batch.alter_column("attention", type_=sa.Text, existing_type=sa.JSON, server_default=None,
                           postgresql_using="attention::text")

    def encrypted(value):
        kept = json.loads(value) if isinstance(value, str) and value else (value or [])
        return encrypt(json.dumps(kept, ensure_ascii=False, sort_keys=True))
    _rewrite(encrypted)


def downgrade():
    from netsterk.crypto import decrypt

    _rewrite(lambda value: decrypt(value) if value else "[]")
    with op.batch_alter_table("task") as batch:
        batch.alter_column("attention", type_=sa.JSON, existing_type=sa.Text,
                           postgresql_using="attention::json")
