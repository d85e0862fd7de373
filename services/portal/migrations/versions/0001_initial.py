"""portal: staff users, task read model, processed messages

Revision ID: portal_0001
"""
import sqlalchemy as sa
from alembic import op

from netsterk.db import create_processed_message_table

revision = "portal_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "portal_user",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("network", sa.String(64), nullable=False),
        sa.Column("organisation_id", sa.String(64), nullable=True),
        sa.Column("lang", sa.String(2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "task",
        sa.Column("referral_id", sa.String(64), primary_key=True),
        sa.Column("ref", sa.String(64), nullable=False),
        sa.Column("network", sa.String(64), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("categories", sa.JSON, nullable=False),
    )
    op.create_index("ix_task_network", "task", ["network"])
    create_processed_message_table(op)


def downgrade():
    op.drop_table("processed_message")
    op.drop_index("ix_task_network", table_name="task")
    op.drop_table("task")
    op.drop_table("portal_user")
