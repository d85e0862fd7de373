"""notifications (issue 7): HTML part, address key, failing addresses, used links, template
overrides, task/engagement read models, webhooks

Revision ID: notifications_0003
"""
import sqlalchemy as sa
from alembic import op


revision = "notifications_0003"
down_revision = "notifications_0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outgoing_mail") as batch:
        batch.add_column(sa.Column("html", sa.Text(), nullable=True))
        batch.add_column(sa.Column("to_key", sa.String(64), nullable=True))
        batch.create_index("ix_outgoing_mail_to_key", ["to_key"])
    op.create_table(
        "failing_address",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("network", sa.String(64), nullable=False, index=True),
        sa.Column("to_key", sa.String(64), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("status_code", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("bounces", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_referral_ref", sa.String(64), nullable=True),
        sa.UniqueConstraint("network", "to_key"))
    op.create_table(
        "used_link",
        sa.Column("link_id", sa.String(64), primary_key=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("referral_id", sa.String(64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False))
    op.create_table(
        "template_override",
        sa.Column("network", sa.String(64), primary_key=True),
        sa.Column("template", sa.String(64), primary_key=True),
        sa.Column("lang", sa.String(2), primary_key=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False))
    op.create_table(
        "task_view",
        sa.Column("referral_id", sa.String(64), primary_key=True),
        sa.Column("ref", sa.String(64), nullable=False),
        sa.Column("network", sa.String(64), nullable=False, index=True),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue", sa.JSON(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False))
    op.create_table(
        "engagement_view",
        sa.Column("referral_id", sa.String(64), primary_key=True),
        sa.Column("offer_id", sa.String(64), primary_key=True),
        sa.Column("ref", sa.String(64), nullable=False),
        sa.Column("network", sa.String(64), nullable=False, index=True),
        sa.Column("organisation_id", sa.String(64), nullable=True, index=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False))
    op.create_table(
        "webhook",
        sa.Column("network", sa.String(64), primary_key=True),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False))
    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("network", sa.String(64), nullable=False, index=True),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(8), nullable=False, index=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(300), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False))


def downgrade():
    for table in ("webhook_delivery", "webhook", "engagement_view", "task_view", "template_override",
                  "used_link", "failing_address"):
        op.drop_table(table)
    with op.batch_alter_table("outgoing_mail") as batch:
        batch.drop_index("ix_outgoing_mail_to_key")
        batch.drop_column("to_key")
        batch.drop_column("html")
