"""portal: personal API tokens (the JSON API's credentials instead of passwords)

Revision ID: portal_0005_api_tokens
"""
import sqlalchemy as sa
from alembic import op

revision = "portal_0005_api_tokens"
down_revision = "portal_0004_attention_encrypted"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "api_token",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("network", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_api_token_username", "api_token", ["username"])


def downgrade():
    op.drop_index("ix_api_token_username", table_name="api_token")
    op.drop_table("api_token")
