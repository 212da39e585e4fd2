"""One error shape for every error (issue 19, item 6): `{"error": kind, "message": one line}`, plus a
`details` list on 422s. TabRL's own errors, FastAPI's and Starlette's (unknown route, wrong method,
malformed or invalid body, an `HTTPException` raised anywhere, an unhandled exception) all answer it,
and the OpenAPI schema documents it for every API operation."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient

from tabrl.server import create_app
from tabrl.server.settings import get_settings

BASE = "http://127.0.0.1:8000"


def _shape(res, status: int, kind: str, *, details: bool = False) -> dict:
    assert res.status_code == status, res.text
    assert res.headers["content-type"].startswith("application/json"), res.headers
    body = res.json()
    assert set(body) == ({"error", "message", "details"} if details else {"error", "message"}), body
    assert body["error"] == kind, body
    assert isinstance(body["message"], str) and body["message"].strip(), body
    assert "\n" not in body["message"], body
    return body


def _extra_routes(app: FastAPI) -> None:
    """Routes that raise what no TabRL route raises today: Starlette/FastAPI HTTP errors, a bug."""

    @app.get("/api/_test/conflict")
    def conflict() -> None:
        raise HTTPException(status_code=409, detail="busy: try again", headers={"Retry-After": "3"})

    @app.get("/api/_test/teapot")
    def teapot() -> None:
        raise HTTPException(status_code=418)

    @app.get("/api/_test/bug")
    def bug() -> None:
        raise ValueError("secret internals")


@pytest.fixture(scope="module")
def client():
    app = create_app(get_settings(run_jobs=False))
    _extra_routes(app)
    with TestClient(app, base_url=BASE, raise_server_exceptions=False) as c:
        yield c


def test_unknown_api_path(client) -> None:
    body = _shape(client.get("/api/nowhere"), 404, "not_found")
    assert "/api/nowhere" in body["message"] and "/docs" in body["message"]


def test_wrong_method_keeps_allow_header(client) -> None:
    res = client.delete("/api/health")
    body = _shape(res, 405, "method_not_allowed")
    assert "DELETE" in body["message"] and "/api/health" in body["message"]
    assert res.headers.get("allow") == "GET"  # Starlette's header, kept


def test_malformed_json(client) -> None:
    res = client.post(
        "/api/rewards/check",
        content=b'{"scene_id": "CartpoleBalance",',
        headers={"content-type": "application/json"},
    )
    body = _shape(res, 422, "invalid_request", details=True)
    assert body["message"].startswith("the body is not valid JSON"), body
    assert [d["type"] for d in body["details"]] == ["json_invalid"]
    assert body["details"][0]["loc"][0] == "body"


def test_body_that_cannot_be_parsed(client) -> None:
    nested = b"[" * 100_000 + b"]" * 100_000  # too deep for the JSON parser: FastAPI's 400
    res = client.post("/api/rewards/check", content=nested, headers={"content-type": "application/json"})
    body = _shape(res, 400, "bad_request")
    assert "JSON" in body["message"]


def test_validation_error_lists_the_fields(client) -> None:
    res = client.post("/api/rewards/check", json={"scene_id": "../etc/passwd", "code": 1})
    body = _shape(res, 422, "invalid_request", details=True)
    assert "scene_id: not a registered scene id" in body["message"]
    locs = {tuple(d["loc"]): d for d in body["details"]}
    assert set(locs) == {("body", "scene_id"), ("body", "code")}
    assert locs[("body", "scene_id")]["msg"].startswith(
        "not a registered scene id"
    )  # the hint, not the regex
    assert all(set(d) == {"loc", "msg", "type"} for d in body["details"])


def test_path_and_query_validation(client) -> None:
    body = _shape(client.get("/api/training/not-a-job/status"), 422, "invalid_request", details=True)
    assert body["details"][0]["loc"] == ["path", "job_id"]
    body = _shape(client.get("/api/bases", params={"scene_id": "a/b"}), 422, "invalid_request", details=True)
    assert body["details"][0]["loc"] == ["query", "scene_id"]


def test_tabrl_not_found(client) -> None:
    body = _shape(client.get("/api/training/job_0123456789ab/status"), 404, "not_found")
    assert "job_0123456789ab" in body["message"]


def test_http_exception_keeps_status_detail_and_headers(client) -> None:
    res = client.get("/api/_test/conflict")
    body = _shape(res, 409, "conflict")
    assert body["message"] == "busy: try again"
    assert res.headers.get("retry-after") == "3"
    body = _shape(client.get("/api/_test/teapot"), 418, "im_a_teapot")
    assert body["message"] == "I'm a Teapot"


def test_unhandled_exception_is_a_500_in_the_shape(client) -> None:
    body = _shape(client.get("/api/_test/bug"), 500, "internal_error")
    assert "secret internals" not in body["message"]  # the log has the details, not the response


def test_openapi_documents_the_error_shape(client) -> None:
    schema = client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    assert "HTTPValidationError" not in components  # FastAPI's {"detail": [...]} is never sent
    error = components["ErrorBody"]
    assert set(error["required"]) == {"error", "message"} and "details" in error["properties"]
    ref = "#/components/schemas/ErrorBody"
    for path, ops in schema["paths"].items():
        if not path.startswith("/api/") or path.startswith("/api/_test/"):
            continue
        for method, op in ops.items():
            for status in ("4XX", "5XX"):
                got = op["responses"].get(status, {}).get("content", {}).get("application/json", {})
                assert got.get("schema", {}).get("$ref") == ref, (method, path, status)
            for status, response in op["responses"].items():
                if status.startswith(("4", "5")):
                    assert response["content"]["application/json"]["schema"]["$ref"] == ref, (
                        method,
                        path,
                        status,
                    )


def test_web_app_is_still_served(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<html>TabRL</html>")
    (tmp_path / "app.js").write_text("console.log(1)")
    app = create_app(get_settings(run_jobs=False, web_dir=tmp_path))
    with TestClient(app, base_url=BASE) as c:
        index = c.get("/")
        assert index.status_code == 200 and "TabRL" in index.text
        assert index.headers["content-type"].startswith("text/html")
        assert c.get("/app.js").text == "console.log(1)"
        assert c.get("/api/health").status_code == 200
        _shape(c.get("/api/nowhere"), 404, "not_found")
        _shape(c.get("/nowhere.js"), 404, "not_found")  # as before: the static files' 404, in the shape
