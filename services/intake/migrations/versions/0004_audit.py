"""intake: audit log of personal data (hash-chained, append-only)

Revision ID: intake_0004
"""
from alembic import op

from netsterk.audit import create_audit_tables, drop_audit_tables

revision = "intake_0004"
down_revision = "intake_0003_wraparound"
branch_labels = None
depends_on = None


def upgrade():
    create_audit_tables(op)


def downgrade():
    drop_audit_tables(op)
