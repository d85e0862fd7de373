"""reporting: event log, facts per referral / stage / engagement / gap, pre-aggregated cells

Revision ID: reporting_0002
"""
import sqlalchemy as sa
from alembic import op

revision = "reporting_0002"
down_revision = "reporting_0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "event_log",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("network", sa.String(64), nullable=False),
        sa.Column("referral_id", sa.String(36), index=True),
        sa.Column("received_at", TZ, nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.UniqueConstraint("event_type", "message_id", name="uq_event_log_message"),
    )
    with op.batch_alter_table("referral_fact") as batch:
        batch.add_column(sa.Column("neighbourhood", sa.String(100)))
        batch.add_column(sa.Column("age_band", sa.String(16)))
        batch.add_column(sa.Column("school_level", sa.String(32)))
        batch.add_column(sa.Column("channel", sa.String(32)))
        batch.add_column(sa.Column("urgency", sa.String(16)))
        batch.add_column(sa.Column("direct", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("person_key", sa.String(64)))
        batch.add_column(sa.Column("repeat_number", sa.Integer))
        batch.add_column(sa.Column("closed_at", TZ))
        batch.add_column(sa.Column("re_engaged", sa.String(16)))
        batch.add_column(sa.Column("anonymised", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("contributions", sa.JSON))
        batch.create_index("ix_referral_fact_person_key", ["person_key"])
    # engagement message ids (<workflow_id>:engagement:<offer_id>:<status>) are longer than 64
    with op.batch_alter_table("processed_message") as batch:
        batch.alter_column("message_id", type_=sa.String(200), existing_type=sa.String(64))
    op.create_table(
        "transition_fact",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("referral_id", sa.String(36), nullable=False, index=True),
        sa.Column("network", sa.String(64), nullable=False),
        sa.Column("from_state", sa.String(32)),
        sa.Column("to_state", sa.String(32), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("due_at", TZ),
    )
    op.create_table(
        "stage_fact",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("referral_id", sa.String(36), nullable=False, index=True),
        sa.Column("network", sa.String(64), nullable=False, index=True),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("entered_at", TZ, nullable=False),
        sa.Column("left_at", TZ),
        sa.Column("due_at", TZ),
        sa.Column("organisation_id", sa.String(64)),
    )
    op.create_table(
        "engagement_fact",
        sa.Column("referral_id", sa.String(36), primary_key=True),
        sa.Column("offer_id", sa.String(100), primary_key=True),
        sa.Column("network", sa.String(64), nullable=False, index=True),
        sa.Column("organisation_id", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_at", TZ, nullable=False),
        sa.Column("proposed_at", TZ),
        sa.Column("answered_at", TZ),
        sa.Column("accepted_at", TZ),
        sa.Column("ended_at", TZ),
        sa.Column("reason_code", sa.String(32)),
        sa.Column("end_outcome", sa.String(32)),
        sa.Column("direct", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "gap_fact",
        sa.Column("gap_id", sa.String(64), primary_key=True),
        sa.Column("network", sa.String(64), nullable=False, index=True),
        sa.Column("referral_id", sa.String(36)),
        sa.Column("categories", sa.JSON, nullable=False),
        sa.Column("neighbourhood", sa.String(100)),
        sa.Column("age_band", sa.String(16)),
        sa.Column("school_level", sa.String(32)),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("contributions", sa.JSON),
    )
    op.create_table(
        "report_cell",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("network", sa.String(64), nullable=False),
        sa.Column("view", sa.String(32), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("dim", sa.String(100), nullable=False),
        sa.Column("value", sa.String(100), nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("on_time", sa.Integer, nullable=False),
        sa.Column("late", sa.Integer, nullable=False),
        sa.Column("days", sa.Float, nullable=False),
        sa.Column("late_days", sa.Float, nullable=False),
        sa.UniqueConstraint("network", "view", "period", "dim", "value", name="uq_report_cell"),
    )
    op.create_index("ix_report_cell_lookup", "report_cell", ["network", "view", "period"])


def downgrade():
    op.drop_index("ix_report_cell_lookup", table_name="report_cell")
    for table in ("report_cell", "gap_fact", "engagement_fact", "stage_fact", "transition_fact",
                  "event_log"):
        op.drop_table(table)
    with op.batch_alter_table("processed_message") as batch:
        batch.alter_column("message_id", type_=sa.String(64), existing_type=sa.String(200))
    with op.batch_alter_table("referral_fact") as batch:
        batch.drop_index("ix_referral_fact_person_key")
        for column in ("contributions", "anonymised", "re_engaged", "closed_at", "repeat_number",
                       "person_key", "direct", "urgency", "channel", "school_level", "age_band",
                       "neighbourhood"):
            batch.drop_column(column)
