"""intake: a network's own deadlines (working days per step and urgency, set by its admin)

Revision ID: intake_0005_network_deadlines
"""
import sqlalchemy as sa
from alembic import op

revision = "intake_0005_network_deadlines"
down_revision = "intake_0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("network") as batch:
        batch.add_column(sa.Column("deadlines", sa.JSON, nullable=True))


def downgrade():
    with op.batch_alter_table("network") as batch:
        batch.drop_column("deadlines")
