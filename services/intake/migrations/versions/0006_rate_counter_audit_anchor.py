"""intake: rate counters shared by every instance (netsterk/ratelimit.py); the audit log's
archive anchors (netsterk/audit.py: retention)

Revision ID: intake_0006_ratelimit_anchor
"""
from alembic import op

from netsterk.audit import create_audit_anchor, drop_audit_anchor
from netsterk.ratelimit import create_rate_counter_table, drop_rate_counter_table

revision = "intake_0006_ratelimit_anchor"
down_revision = "intake_0005_network_deadlines"
branch_labels = None
depends_on = None


def upgrade():
    create_rate_counter_table(op)
    create_audit_anchor(op)


def downgrade():
    drop_audit_anchor(op)
    drop_rate_counter_table(op)
