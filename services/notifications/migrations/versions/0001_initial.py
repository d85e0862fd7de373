"""notifications: outgoing mail

Revision ID: notifications_0001
"""
import sqlalchemy as sa
from alembic import op

revision = "notifications_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "outgoing_mail",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
        sa.Column("network", sa.String(64), nullable=False, index=True),
        sa.Column("referral_ref", sa.String(64), nullable=False, index=True),
        sa.Column("correlation_id", sa.String(64)),
        sa.Column("to", sa.Text, nullable=False),
        sa.Column("template", sa.String(64), nullable=False),
        sa.Column("lang", sa.String(2), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.String(8), nullable=False, index=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.String(500)),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
    )


def downgrade():
    op.drop_table("outgoing_mail")
