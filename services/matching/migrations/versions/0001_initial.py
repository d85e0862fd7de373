"""matching: organisations, offers, gaps

Revision ID: matching_0001
"""
import sqlalchemy as sa
from alembic import op

revision = "matching_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "organisation",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("network", sa.String(64), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
    )
    op.create_table(
        "offer",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("organisation_id", sa.String(64), sa.ForeignKey("organisation.id"),
                  nullable=False, index=True),
        sa.Column("network", sa.String(64), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("categories", sa.JSON, nullable=False),
        sa.Column("postcodes", sa.JSON, nullable=False),
        sa.Column("languages", sa.JSON, nullable=False),
        sa.Column("min_age", sa.Integer, nullable=False),
        sa.Column("max_age", sa.Integer, nullable=False),
        sa.Column("school_levels", sa.JSON, nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
    )
    op.create_table(
        "gap",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("network", sa.String(64), nullable=False, index=True),
        sa.Column("categories", sa.JSON, nullable=False),
        sa.Column("postcode", sa.String(4)),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade():
    op.drop_table("gap")
    op.drop_table("offer")
    op.drop_table("organisation")
