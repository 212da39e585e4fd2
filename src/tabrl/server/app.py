"""The FastAPI application factory."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from tabrl import __version__
from tabrl.errors import TabRLError
from tabrl.jobs.executors import make_executor
from tabrl.jobs.scheduler import Scheduler
from tabrl.jobs.store import JobStore
from tabrl.server.deps import SettingsDep
from tabrl.server.inference import LivePolicies
from tabrl.server.live import LiveSims
from tabrl.server.routes import authoring, bases, models, scenes, training, videos
from tabrl.server.schemas import PATTERN_HINTS, Health
from tabrl.server.security import EdgeGuard, is_loopback
from tabrl.server.settings import Settings, get_settings


def _error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": kind, "message": message})


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(TabRLError)
    async def _tabrl_error(_: Request, exc: TabRLError) -> JSONResponse:
        name = type(exc).__name__.removesuffix("Error") or "Error"
        kind = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
        return _error(exc.status_code, kind, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors()[:5]:
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "path", "query")]
            msg = str(err.get("msg"))
            if err.get("type") == "string_pattern_mismatch" and loc and loc[-1] in PATTERN_HINTS:
                msg = PATTERN_HINTS[loc[-1]]
            elif err.get("type") == "json_invalid":
                msg = f"the body is not valid JSON ({err.get('ctx', {}).get('error', 'parse error')})"
            where = ".".join(loc)
            parts.append(f"{where}: {msg}" if where else msg)
        return _error(422, "invalid_request", "; ".join(parts) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = getattr(exc, "kind", None) or _HTTP_KINDS.get(exc.status_code, "http_error")
        message = str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"no route {request.url.path!r}; see the API documentation at /docs"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}; see /docs"
        elif exc.status_code == 400 and "parsing the body" in message:
            message = (
                "the body could not be read as JSON (invalid UTF-8 or nested too deeply); send UTF-8 JSON"
            )
        return _error(exc.status_code, kind, message)


_HTTP_KINDS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "body_timeout",
    413: "body_too_large",
}


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    store: JobStore = app.state.store
    scheduler = None
    if settings.run_jobs:
        scheduler = Scheduler(
            store,
            make_executor(settings.executor, store, cpus_per_job=settings.ray_cpus_per_job),
            max_concurrent=settings.max_concurrent_jobs,
            resume_interrupted=settings.resume_interrupted,
        )
        scheduler.start()
    app.state.scheduler = scheduler
    try:
        yield
    finally:
        if scheduler is not None:
            # Running jobs are interrupted, keep their checkpoints and resume on the next start.
            scheduler.stop()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app: API under /api, the web UI at / when it is built."""
    settings = settings or get_settings()
    app = FastAPI(
        lifespan=_lifespan,
        title="TabRL",
        version=__version__,
        description="Teach simulated robots new behaviours in plain language.",
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.live = LivePolicies()
    app.state.live_sims = LiveSims()
    app.state.store = JobStore()
    app.state.scheduler = None
    app.add_middleware(
        CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"], allow_headers=["*"]
    )
    if not is_loopback(settings.host) and not settings.token:
        raise TabRLError(
            f"binding to {settings.host} exposes the API beyond this machine: set an access token "
            "(TABRL_TOKEN, or let `tabrl serve` generate one)"
        )
    # Outermost: refused requests never reach CORS, routing or a body parser.
    app.add_middleware(
        EdgeGuard,
        bind_host=settings.host,
        token=settings.token.get_secret_value() if settings.token else None,
        allowed_hosts=settings.allowed_hosts,
        allowed_origins=settings.cors_origins,
        max_body_bytes=settings.max_body_bytes,
        body_timeout_s=settings.body_timeout_s,
    )
    _install_error_handlers(app)

    api = APIRouter(prefix="/api")

    @api.get("/health", response_model=Health, tags=["meta"])
    def health(settings: SettingsDep) -> Health:
        """Liveness, version, the JAX device kind and where jobs run."""
        from tabrl.runtime import device_kind

        return Health(status="ok", version=__version__, device=device_kind(), executor=settings.executor)

    api.include_router(scenes.router)
    api.include_router(training.router)
    api.include_router(models.router)
    api.include_router(bases.router)
    api.include_router(authoring.router)
    api.include_router(videos.router)
    app.include_router(api)
    if settings.web_dir and (settings.web_dir / "index.html").is_file():
        app.mount("/", StaticFiles(directory=settings.web_dir, html=True), name="web")
    return app
