"""portal: login throttling in the shared rate counters (netsterk/ratelimit.py)

Revision ID: portal_0006_rate_counter
"""
import sqlalchemy as sa
from alembic import op

from netsterk.ratelimit import create_rate_counter_table, drop_rate_counter_table

revision = "portal_0006_rate_counter"
down_revision = "portal_0005_api_tokens"
branch_labels = None
depends_on = None


def upgrade():
    create_rate_counter_table(op)
    op.drop_table("login_throttle")     # transient counters: nothing to carry over


def downgrade():
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
    )
    drop_rate_counter_table(op)
