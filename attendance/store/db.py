"""Engines and sessions for SQLite (embedded, WAL) and PostgreSQL (cluster)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from attendance.config import DatabaseSettings


def database_url(raw: str) -> URL:
    """Parse a configured URL; a bare postgresql:// means the psycopg 3 driver we ship."""
    url = make_url(raw)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url


def make_engine(settings: DatabaseSettings) -> Engine:
    url = database_url(settings.url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url, settings.echo)
    return create_engine(url, echo=settings.echo, pool_size=settings.pool_size, pool_pre_ping=True)


def _sqlite_engine(url: URL, echo: bool) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:
        # WAL lets the web server read while a worker writes; foreign keys are off by default.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: committed on success, rolled back entirely on any exception."""
    with session_factory(engine).begin() as session:
        yield session
