"""The migrations build exactly the models' schema, the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, StatementError

from attendance.errors import AttendanceError
from attendance.store.db import transaction
from attendance.store.migrate import current_revision, head_revision, require_current
from attendance.store.models import Base, Region, Sample, SampleStatus, Site


def test_migrations_match_models(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    assert current_revision(engine) == head_revision()


def test_init_is_repeatable(cli, db):
    again = cli("init", "--db", db)
    assert again.code == 0
    assert f"already at revision {head_revision()}" in again.out


def test_commands_refuse_an_uninitialised_database(cli, tmp_path):
    result = cli("sites", "list", "--db", f"sqlite:///{tmp_path / 'new.db'}")
    assert result.code == 1
    assert "database is not initialised" in result.err
    assert "attendance init" in result.err


def test_require_current_names_the_revision(engine):
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = 'old'")
    with pytest.raises(AttendanceError, match="at revision old"):
        require_current(engine)


def _site(session) -> Site:
    region = Region(level="province", name="Hà Nội", path="Hà Nội")
    site = Site(code="A", name="A", province=region, region=region, timezone="Asia/Ho_Chi_Minh")
    session.add(site)
    session.flush()
    return site


def test_times_come_back_as_aware_utc(engine):
    hanoi = timezone(timedelta(hours=7))
    slot = datetime(2026, 11, 25, 8, 0, tzinfo=hanoi)
    with transaction(engine) as session:
        site = _site(session)
        session.add(Sample(site_id=site.id, slot=slot, status=SampleStatus.NO_FRAME))
    with transaction(engine) as session:
        stored = session.scalar(select(Sample.slot))
    assert stored == slot
    assert stored.tzinfo is not None and stored.utcoffset() == timedelta(0)
    assert stored.hour == 1


def test_naive_times_are_refused(engine):
    with pytest.raises(StatementError, match="naive datetime"), transaction(engine) as session:
        site = _site(session)
        session.add(Sample(site_id=site.id, slot=datetime(2026, 1, 1), status="ok"))
        session.flush()


def test_one_sample_per_site_and_slot(engine):
    slot = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    with transaction(engine) as session:
        site_id = _site(session).id
        session.add(Sample(site_id=site_id, slot=slot, status=SampleStatus.OK, face_count=3))
    with pytest.raises(IntegrityError), transaction(engine) as session:
        session.add(Sample(site_id=site_id, slot=slot, status=SampleStatus.OK, face_count=4))
    with transaction(engine) as session:
        assert session.scalars(select(Sample.face_count)).all() == [3]
