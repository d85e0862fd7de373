"""portal: the task read model keeps every deadline, overdue marks, attention, urgency, revision

Revision ID: portal_0002
"""
import sqlalchemy as sa
from alembic import op

revision = "portal_0002"
down_revision = "portal_0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("task") as batch:
        batch.add_column(sa.Column("urgency", sa.String(8), nullable=False, server_default="normal"))
        batch.add_column(sa.Column("deadlines", sa.JSON, nullable=False, server_default="{}"))
        batch.add_column(sa.Column("overdue", sa.JSON, nullable=False, server_default="{}"))
        batch.add_column(sa.Column("attention", sa.JSON, nullable=False, server_default="[]"))
        batch.add_column(sa.Column("revision", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("anonymised", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.create_index("ix_task_network_state", ["network", "state"])


def downgrade():
    with op.batch_alter_table("task") as batch:
        batch.drop_index("ix_task_network_state")
        for column in ("anonymised", "revision", "attention", "overdue", "deadlines", "urgency"):
            batch.drop_column(column)
