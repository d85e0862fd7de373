"""notifications: processed messages (the referral_anonymise consumer)

Revision ID: notifications_0002
"""
from alembic import op

from netsterk.db import create_processed_message_table

revision = "notifications_0002"
down_revision = "notifications_0001"
branch_labels = None
depends_on = None


def upgrade():
    create_processed_message_table(op)


def downgrade():
    op.drop_table("processed_message")
