"""notifications (issue 7): the language each staff or partner address gets its e-mails in

Revision ID: notifications_0004
"""
import sqlalchemy as sa
from alembic import op


revision = "notifications_0004"
down_revision = "notifications_0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "recipient_language",
        sa.Column("network", sa.String(64), primary_key=True),
        sa.Column("to_key", sa.String(64), primary_key=True),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("lang", sa.String(2), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False))


def downgrade():
    op.drop_table("recipient_language")
