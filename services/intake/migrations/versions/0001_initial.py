"""intake: networks, referrals, reference counter, outbox, processed messages

Revision ID: intake_0001
"""
import sqlalchemy as sa
from alembic import op

from netsterk.db import create_outbox_table, create_processed_message_table

revision = "intake_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "network",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("categories", sa.JSON, nullable=False),
    )
    op.create_table(
        "ref_counter",
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("last", sa.Integer, nullable=False),
    )
    op.create_table(
        "referral",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("ref", sa.String(32), nullable=False, unique=True),
        sa.Column("network", sa.String(64), nullable=False, index=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("state_at", sa.DateTime(timezone=True)),
        sa.Column("lang", sa.String(2), nullable=False),
        sa.Column("reporter_name", sa.Text, nullable=False),
        sa.Column("reporter_organisation", sa.String(200), nullable=False),
        sa.Column("reporter_role", sa.String(100), nullable=False),
        sa.Column("reporter_email", sa.Text, nullable=False),
        sa.Column("reporter_phone", sa.Text),
        sa.Column("reporter_is_school", sa.Boolean, nullable=False),
        sa.Column("school_email", sa.Text),
        sa.Column("first_name", sa.Text, nullable=False),
        sa.Column("last_name", sa.Text, nullable=False),
        sa.Column("birth_date", sa.Text),
        sa.Column("age", sa.Integer, nullable=False),
        sa.Column("school", sa.String(200)),
        sa.Column("grade", sa.String(50)),
        sa.Column("school_level", sa.String(16), nullable=False),
        sa.Column("postcode", sa.String(4), nullable=False),
        sa.Column("neighbourhood", sa.String(100)),
        sa.Column("languages", sa.JSON, nullable=False),
        sa.Column("person_key", sa.String(64), nullable=False, index=True),
        sa.Column("household_key", sa.String(64), nullable=False, index=True),
        sa.Column("categories", sa.JSON, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("school_efforts", sa.Text),
        sa.Column("school_efforts_when", sa.Text),
        sa.Column("school_efforts_result", sa.Text),
        sa.Column("consent", sa.String(16), nullable=False),
        sa.Column("consent_reason", sa.Text),
        sa.Column("expectations", sa.Text),
        sa.Column("urgency", sa.String(8), nullable=False),
        sa.Column("entered_by", sa.String(100)),
        sa.Column("direct_engagement", sa.JSON),
        sa.Column("correlation_id", sa.String(36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "referral_link",
        sa.Column("referral_id", sa.String(36), primary_key=True),
        sa.Column("linked_referral_id", sa.String(36), primary_key=True),
        sa.Column("match", sa.String(16), nullable=False),
        sa.Column("overlapping", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "referral_draft",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("network", sa.String(64)),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    create_outbox_table(op)
    create_processed_message_table(op)


def downgrade():
    for table in ("processed_message", "outbox", "referral_draft", "referral_link", "referral",
                  "ref_counter", "network"):
        op.drop_table(table)
