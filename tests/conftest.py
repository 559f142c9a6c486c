"""Shared fixtures: a fresh database per test (SQLite file and a PostgreSQL schema), the CLI, and
the shared Redis with a key prefix of each test's own."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from attendance.cli import main
from attendance.config import DatabaseSettings
from attendance.store.db import make_engine

REDIS_URL = os.environ.get("ATTENDANCE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_URL = os.environ.get(
    "ATTENDANCE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests see no ATTENDANCE_* settings from the shell and run in their own directory."""
    for name in list(os.environ):
        if name.startswith("ATTENDANCE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def _postgres_admin() -> Engine:
    engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        engine.dispose()
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL must run in CI but {POSTGRES_URL} is unreachable: {exc.orig}")
        pytest.skip(
            f"PostgreSQL not reachable at {POSTGRES_URL} (set ATTENDANCE_TEST_POSTGRES_URL)"
        )
    return engine


@pytest.fixture
def postgres_url():
    """A URL whose connections live in a fresh schema, dropped after the test."""
    admin = _postgres_admin()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind we support."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'attendance.db'}"
    return request.getfixturevalue("postgres_url")


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    """Run `attendance ARGS…` in process, as the console script does."""

    def run(*args: str | Path) -> Result:
        code = main([str(arg) for arg in args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def db(db_url: str, cli) -> str:
    """An initialised database of each kind; returns its URL."""
    result = cli("init", "--db", db_url)
    assert result.code == 0, result.err
    return db_url


@pytest.fixture
def engine(db: str):
    engine = make_engine(DatabaseSettings(url=db))
    yield engine
    engine.dispose()


def missing_service(what: str) -> None:
    """Skip saying what is missing; in CI (`CI` set), fail instead."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} must be available in CI")
    pytest.skip(f"{what} (set ATTENDANCE_TEST_REDIS_URL, or install redis-server)")


@pytest.fixture
def redis_url() -> str:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        missing_service(f"Redis at {REDIS_URL} is unreachable ({exc});")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A prefix of this test's own; its keys (and its arq jobs') are deleted afterwards."""
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    for pattern in (f"{prefix}*", f"arq:*{prefix}*"):
        keys = list(client.scan_iter(pattern, count=1000))
        if keys:
            client.delete(*keys)
    client.close()
