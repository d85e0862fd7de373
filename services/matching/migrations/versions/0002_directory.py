"""matching: full directory (staff, hours, capacity), engagements, rules, pending changes,
gap details, outbox

Revision ID: matching_0002
"""
import sqlalchemy as sa
from alembic import op

from netsterk.db import create_outbox_table, create_processed_message_table

revision = "matching_0002"
down_revision = "matching_0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("organisation") as batch:
        batch.add_column(sa.Column("description", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("phone", sa.String(40)))
        batch.add_column(sa.Column("website", sa.String(254)))
        batch.add_column(sa.Column("how_to_reach", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("last_confirmed", sa.Date))
        batch.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                                   server_default=sa.func.now()))
    with op.batch_alter_table("offer") as batch:
        batch.add_column(sa.Column("description", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("neighbourhoods", sa.JSON, nullable=False, server_default="[]"))
        batch.add_column(sa.Column("opening_hours", sa.JSON, nullable=False, server_default="[]"))
        batch.add_column(sa.Column("how_to_reach", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("capacity_period", sa.String(8), nullable=False,
                                   server_default="month"))
        batch.add_column(sa.Column("waiting_list", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_confirmed", sa.Date))
        batch.add_column(sa.Column("period_start", sa.Date))
        batch.add_column(sa.Column("taken", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("full_until", sa.Date))
        batch.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                                   server_default=sa.func.now()))
    with op.batch_alter_table("gap") as batch:
        batch.add_column(sa.Column("referral_id", sa.String(64)))
        batch.add_column(sa.Column("neighbourhood", sa.String(100)))
        batch.add_column(sa.Column("age", sa.Integer))
        batch.add_column(sa.Column("school_level", sa.String(32)))
        batch.add_column(sa.Column("reason", sa.String(32), nullable=False, server_default="no_offer"))
        batch.add_column(sa.Column("detail", sa.Text, nullable=False, server_default=""))
        batch.create_index("ix_gap_referral_id", ["referral_id"])
    op.create_table(
        "staff",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("organisation_id", sa.String(64), sa.ForeignKey("organisation.id"),
                  nullable=False, index=True),
        sa.Column("network", sa.String(64), nullable=False, index=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("phone", sa.Text),
        sa.Column("email", sa.Text),
        sa.Column("languages", sa.JSON, nullable=False),
        sa.Column("offer_ids", sa.JSON, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
    )
    op.create_table(
        "engagement",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("referral_id", sa.String(64), nullable=False, index=True),
        sa.Column("offer_id", sa.String(64), nullable=False, index=True),
        sa.Column("organisation_id", sa.String(64), nullable=False, index=True),
        sa.Column("network", sa.String(64), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason_code", sa.String(32)),
        sa.Column("counted", sa.Boolean, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("referral_id", "offer_id", name="uq_engagement_referral_offer"),
    )
    op.create_table(
        "referral_subject",
        sa.Column("referral_id", sa.String(64), primary_key=True),
        sa.Column("network", sa.String(64), nullable=False, index=True),
        sa.Column("person_key", sa.String(64), index=True),
        sa.Column("household_key", sa.String(64), index=True),
        sa.Column("categories", sa.JSON, nullable=False),
        sa.Column("request", sa.JSON, nullable=False),
        sa.Column("ranked_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "network_rules",
        sa.Column("network", sa.String(64), primary_key=True),
        sa.Column("rules", sa.JSON, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "pending_change",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("network", sa.String(64), nullable=False, index=True),
        sa.Column("organisation_id", sa.String(64), nullable=False, index=True),
        sa.Column("entry", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("submitted_by", sa.String(64), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(64)),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("note", sa.Text, nullable=False),
    )
    op.create_table(
        "directory_version",
        sa.Column("network", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
    )
    create_outbox_table(op)
    create_processed_message_table(op)


def downgrade():
    op.drop_table("processed_message")
    op.drop_table("outbox")
    op.drop_table("directory_version")
    op.drop_table("pending_change")
    op.drop_table("network_rules")
    op.drop_table("referral_subject")
    op.drop_table("engagement")
    op.drop_table("staff")
    with op.batch_alter_table("gap") as batch:
        batch.drop_index("ix_gap_referral_id")
        for name in ("detail", "reason", "school_level", "age", "neighbourhood", "referral_id"):
            batch.drop_column(name)
    with op.batch_alter_table("offer") as batch:
        for name in ("updated_at", "full_until", "taken", "period_start", "last_confirmed",
                     "waiting_list", "capacity_period", "how_to_reach", "opening_hours",
                     "neighbourhoods", "description"):
            batch.drop_column(name)
    with op.batch_alter_table("organisation") as batch:
        for name in ("updated_at", "last_confirmed", "how_to_reach", "website", "phone", "description"):
            batch.drop_column(name)
