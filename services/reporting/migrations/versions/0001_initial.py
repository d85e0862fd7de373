"""reporting: referral facts, processed messages

Revision ID: reporting_0001
"""
import sqlalchemy as sa
from alembic import op

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
    op.create_table(
        "processed_message",
        sa.Column("message_id", sa.String(64), primary_key=True),
        sa.Column("consumer", sa.String(128), primary_key=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade():
    op.drop_table("processed_message")
    op.drop_table("referral_fact")
