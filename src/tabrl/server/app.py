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

from tabrl import __version__
from tabrl.errors import TabRLError
from tabrl.jobs.executors import make_executor
from tabrl.jobs.scheduler import Scheduler
from tabrl.jobs.store import JobStore
from tabrl.server.inference import LivePolicies
from tabrl.server.routes import authoring, models, scenes, training, videos
from tabrl.server.schemas import Health
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
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
        return _error(422, "invalid_request", "; ".join(parts) or "invalid request")


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    store: JobStore = app.state.store
    scheduler = None
    if settings.run_jobs:
        scheduler = Scheduler(
            store,
            make_executor(settings.executor),
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
    app.state.store = JobStore()
    app.state.scheduler = None
    app.add_middleware(
        CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"], allow_headers=["*"]
    )
    _install_error_handlers(app)

    api = APIRouter(prefix="/api")

    @api.get("/health", response_model=Health, tags=["meta"])
    async def health() -> Health:
        """Liveness, version and the JAX device kind."""
        from tabrl.runtime import device_kind

        return Health(status="ok", version=__version__, device=device_kind())

    api.include_router(scenes.router)
    api.include_router(training.router)
    api.include_router(models.router)
    api.include_router(authoring.router)
    api.include_router(videos.router)
    app.include_router(api)
    if settings.web_dir and (settings.web_dir / "index.html").is_file():
        app.mount("/", StaticFiles(directory=settings.web_dir, html=True), name="web")
    return app
