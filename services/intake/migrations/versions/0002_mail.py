"""intake: e-mail gateway (stored messages, attachments)

Revision ID: intake_0002
"""
import sqlalchemy as sa
from alembic import op

revision = "intake_0002"
down_revision = "intake_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "mail_message",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False, index=True),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("envelope_from", sa.Text),
        sa.Column("rcpt_tos", sa.JSON, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("raw", sa.Text, nullable=False),
        sa.Column("message_id_header", sa.String(255), unique=True),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("kind", sa.String(16)),
        sa.Column("from_addr", sa.Text),
        sa.Column("subject", sa.Text),
        sa.Column("text", sa.Text),
        sa.Column("problems", sa.JSON, nullable=False),
        sa.Column("network", sa.String(64), index=True),
        sa.Column("referral_id", sa.String(36), index=True),
        sa.Column("referral_ref", sa.String(32)),
        sa.Column("answers", sa.String(255)),
        sa.Column("review_reason", sa.String(200)),
        sa.Column("error", sa.String(500)),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "mail_attachment",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("mail_id", sa.String(40), sa.ForeignKey("mail_message.id"), nullable=False, index=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("content_type", sa.String(127), nullable=False),
        sa.Column("declared_type", sa.String(127), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("stored", sa.Boolean, nullable=False),
        sa.Column("data", sa.Text),
    )


def downgrade():
    op.drop_table("mail_attachment")
    op.drop_table("mail_message")
