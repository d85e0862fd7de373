"""matching: information sessions and trainings with registration (issue 13)

Revision ID: matching_0003_catalogue
"""
import sqlalchemy as sa
from alembic import op

revision = "matching_0003_catalogue"
down_revision = "matching_0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "info_session",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("network", sa.String(64), nullable=False, index=True),
        sa.Column("organisation_id", sa.String(64), sa.ForeignKey("organisation.id"), nullable=False, index=True),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("theme", sa.String(64), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("location", sa.String(200), nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "info_session_registration",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.String(36), sa.ForeignKey("info_session.id"), nullable=False, index=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("organisation", sa.String(200), nullable=False),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("email_key", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("session_id", "email_key"),
    )


def downgrade():
    op.drop_table("info_session_registration")
    op.drop_table("info_session")
