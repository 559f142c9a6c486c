"""index samples by evidence image

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 18:00:00
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_samples_evidence_sha256", "samples", ["evidence_sha256"])


def downgrade() -> None:
    op.drop_index("ix_samples_evidence_sha256", table_name="samples")
