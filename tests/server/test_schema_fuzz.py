"""Schemathesis against the OpenAPI schema: no generated request may produce a 5xx.

Jobs are only queued (no scheduler), so no training runs; request bodies that pass the
schema still reach the real handlers (scene lookup, reward checks, model library...).
"""

from __future__ import annotations

import os
import tempfile

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

# A private home for the app under test, before the app (and its database) is created.
os.environ.setdefault("TABRL_HOME", tempfile.mkdtemp(prefix="tabrl-fuzz-"))

from tabrl.server import create_app
from tabrl.server.settings import get_settings

app = create_app(get_settings(run_jobs=False))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.mark.timeout(900)
@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case) -> None:
    response = case.call()
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:500]}"
    )
