"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from tabrl import __version__
from tabrl.errors import TabRLError
from tabrl.jobs.executors import make_executor
from tabrl.jobs.scheduler import Scheduler
from tabrl.jobs.store import JobStore
from tabrl.server.deps import SettingsDep
from tabrl.server.errors import API_ERRORS, install_error_handlers
from tabrl.server.inference import LivePolicies
from tabrl.server.live import LiveSims
from tabrl.server.routes import authoring, bases, models, scenes, training, videos
from tabrl.server.schemas import Health
from tabrl.server.security import EdgeGuard, is_loopback
from tabrl.server.settings import Settings, get_settings


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
    install_error_handlers(app)

    api = APIRouter(prefix="/api", responses=API_ERRORS)

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
