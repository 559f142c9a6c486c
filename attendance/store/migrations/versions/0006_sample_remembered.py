"""samples remembered: how many of a count are seats remembered without a face found

Nullable, no default: samples stored before it keep NULL (never relabelled), and their audit
digests, which leave a NULL `remembered` out, stay as they were.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ADD COLUMN: SQLite's batch mode alters in place, the table is not recreated.
    with op.batch_alter_table("samples") as batch:
        batch.add_column(sa.Column("remembered", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("samples") as batch:
        batch.drop_column("remembered")
