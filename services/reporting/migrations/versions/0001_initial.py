"""reporting: referral facts, processed messages

Revision ID: reporting_0001
"""
import sqlalchemy as sa
from alembic import op

from netsterk.db import create_processed_message_table

revision = "reporting_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "referral_fact",
        sa.Column("referral_id", sa.String(36), primary_key=True),
        sa.Column("network", sa.String(64), nullable=False, index=True),
        sa.Column("categories", sa.JSON, nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("state_at", sa.DateTime(timezone=True)),
        sa.Column("submitted_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    create_processed_message_table(op)


def downgrade():
    op.drop_table("processed_message")
    op.drop_table("referral_fact")
