"""audit events append-only

The database itself refuses UPDATE and DELETE of audit events (and TRUNCATE on PostgreSQL), so
changing one takes dropping or disabling these triggers first: rights the application never
uses, and a change `attendance audit verify` still finds. On SQLite a batch migration that
recreates `audit_events` drops its triggers: such a migration must create them again.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 17:00:00
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# restrict_violation (SQLSTATE 23001) is an integrity error, as SQLite's RAISE(ABORT) is.
POSTGRESQL_UP = (
    """
    CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION USING
            MESSAGE = 'audit_events is append-only (' || TG_OP || ' refused)',
            ERRCODE = 'restrict_violation';
    END
    $$
    """,
    """
    CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()
    """,
    """
    CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()
    """,
)
POSTGRESQL_DOWN = (
    "DROP TRIGGER audit_events_no_truncate ON audit_events",
    "DROP TRIGGER audit_events_append_only ON audit_events",
    "DROP FUNCTION audit_events_append_only()",
)
SQLITE_UP = tuple(
    f"""
    CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events
    BEGIN
        SELECT RAISE(ABORT, 'audit_events is append-only ({verb} refused)');
    END
    """
    for verb in ("UPDATE", "DELETE")
)
SQLITE_DOWN = ("DROP TRIGGER audit_events_no_delete", "DROP TRIGGER audit_events_no_update")


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRESQL_UP if postgresql else SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRESQL_DOWN if postgresql else SQLITE_DOWN:
        op.execute(statement)
