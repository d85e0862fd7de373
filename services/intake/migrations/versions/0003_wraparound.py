"""intake: shared family plan, voice and consent, case conferences, their history (issue 13)

Revision ID: intake_0003_wraparound
"""
import sqlalchemy as sa
from alembic import op

revision = "intake_0003_wraparound"
down_revision = "intake_0002"
branch_labels = None
depends_on = None


def _now():
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False)


def upgrade():
    op.create_table(
        "family_plan",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("network", sa.String(64), nullable=False, index=True),
        sa.Column("household_key", sa.String(64), nullable=False, index=True),
        sa.Column("contact_person", sa.Text),
        sa.Column("contact_organisation_id", sa.String(64)),
        sa.Column("contact_organisation", sa.String(200)),
        _now(),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "family_plan_referral",
        sa.Column("plan_id", sa.String(36), sa.ForeignKey("family_plan.id"), primary_key=True),
        sa.Column("referral_id", sa.String(36), primary_key=True, unique=True),
    )
    op.create_table(
        "family_plan_item",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("plan_id", sa.String(36), sa.ForeignKey("family_plan.id"), nullable=False, index=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("audience", sa.String(8), nullable=False),
        sa.Column("owner_organisation_id", sa.String(64)),
        sa.Column("owner_name", sa.String(200)),
        sa.Column("due_date", sa.Date),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_organisation_id", sa.String(64)),
        _now(),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "referral_voice",
        sa.Column("referral_id", sa.String(36), primary_key=True),
        sa.Column("network", sa.String(64), nullable=False, index=True),
        sa.Column("from_whom", sa.String(16), nullable=False),
        sa.Column("wishes", sa.Text),
        sa.Column("worries", sa.Text),
        sa.Column("what_helps", sa.Text),
        sa.Column("share_partners", sa.Boolean, nullable=False),
        sa.Column("share_school", sa.Boolean, nullable=False),
        sa.Column("consent_given_at", sa.DateTime(timezone=True)),
        sa.Column("consent_withdrawn_at", sa.DateTime(timezone=True)),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "case_conference",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("network", sa.String(64), nullable=False, index=True),
        sa.Column("referral_id", sa.String(36), nullable=False, index=True),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("location", sa.String(200), nullable=False),
        sa.Column("duration_minutes", sa.Integer, nullable=False),
        sa.Column("proposed_times", sa.JSON, nullable=False),
        sa.Column("invitees", sa.Text, nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("confirmed_time", sa.String(40)),
        sa.Column("invited_at", sa.DateTime(timezone=True)),
        sa.Column("held_at", sa.String(40)),
        sa.Column("attendance", sa.JSON, nullable=False),
        sa.Column("decisions", sa.Text),
        sa.Column("actions", sa.Text),
        sa.Column("tasks_sent_at", sa.DateTime(timezone=True)),
        sa.Column("created_by", sa.String(200), nullable=False),
        _now(),
    )
    op.create_table(
        "wraparound_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("network", sa.String(64), nullable=False, index=True),
        sa.Column("subject", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(36), nullable=False, index=True),
        sa.Column("item_id", sa.String(36)),
        sa.Column("referral_id", sa.String(36)),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("organisation_id", sa.String(64)),
        sa.Column("fields", sa.JSON, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade():
    for table in ("wraparound_history", "case_conference", "referral_voice", "family_plan_item",
                  "family_plan_referral", "family_plan"):
        op.drop_table(table)
