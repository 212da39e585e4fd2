"""A throwaway PostgreSQL server for the job-store tests (real database, not a fake).

Started from the machine's PostgreSQL binaries (Debian's `postgresql` package; `.ci/run`
installs it) in a temp folder on a free loopback port, and stopped afterwards. Tests that
need it skip with the reason when no PostgreSQL is installed.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if url := os.environ.get("TABRL_TEST_POSTGRES_URL"):
        yield url
        return
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    as_user: list[str] = []
    data = tempfile.mkdtemp(prefix="tabrl-pg-")
    if os.geteuid() == 0:  # initdb refuses to run as root
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(data, "postgres")
    port = _free_port()
    subprocess.run(
        [*as_user, initdb, "-D", data, "-A", "trust", "-U", "postgres"], check=True, capture_output=True
    )
    opts = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [*as_user, pg_ctl, "-D", data, "-o", opts, "-l", f"{data}/log", "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(data, ignore_errors=True)
