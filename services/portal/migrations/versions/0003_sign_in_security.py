"""portal: second factor (TOTP), session epoch, active flag on users; login throttling; partners' engagements

Revision ID: portal_0003
"""
import sqlalchemy as sa
from alembic import op

revision = "portal_0003"
down_revision = "portal_0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("portal_user") as batch:
        batch.add_column(sa.Column("totp_secret", sa.Text, nullable=True))
        batch.add_column(sa.Column("totp_confirmed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.Integer, nullable=True))
        batch.add_column(sa.Column("session_epoch", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()))
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "partner_engagement",
        sa.Column("referral_id", sa.String(64), primary_key=True),
        sa.Column("offer_id", sa.String(128), primary_key=True),
        sa.Column("ref", sa.String(64), nullable=False),
        sa.Column("network", sa.String(64), nullable=False),
        sa.Column("organisation_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_partner_engagement_org", "partner_engagement", ["network", "organisation_id"])


def downgrade():
    op.drop_index("ix_partner_engagement_org", "partner_engagement")
    op.drop_table("partner_engagement")
    op.drop_table("login_throttle")
    with op.batch_alter_table("portal_user") as batch:
        for column in ("active", "session_epoch", "totp_last_step", "totp_confirmed_at", "totp_secret"):
            batch.drop_column(column)
