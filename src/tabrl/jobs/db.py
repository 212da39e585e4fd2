"""Database engine: SQLite under TABRL_HOME by default, any SQLAlchemy URL via DATABASE_URL."""

from __future__ import annotations

import os
from functools import lru_cache

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, create_engine

from tabrl.paths import home_dir


def database_url() -> str:
    """`DATABASE_URL` (e.g. postgresql+psycopg://...) or `sqlite:///<TABRL_HOME>/tabrl.db`."""
    return os.environ.get("DATABASE_URL") or f"sqlite:///{home_dir() / 'tabrl.db'}"


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # WAL lets the API read while workers write; busy_timeout waits instead of failing
    # when two processes write at once.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def get_engine(url: str | None = None) -> Engine:
    """The engine for `url` (default `database_url()`, read now), one per process and URL."""
    return _cached_engine(url or database_url())


@lru_cache(maxsize=8)
def _cached_engine(url: str) -> Engine:
    # Keyed by the resolved URL: TABRL_HOME / DATABASE_URL may change within a process (tests,
    # embedding apps), and a job must land in the database its workers read.
    return make_engine(url)


def make_engine(url: str) -> Engine:
    """A new engine for `url`, with tables created."""
    from tabrl.jobs import models  # noqa: F401 - registers the tables

    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    SQLModel.metadata.create_all(engine)
    return engine
