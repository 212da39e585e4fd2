"""TabRL's HTTP API (FastAPI): a thin shell over the core packages."""

from tabrl.server.app import create_app

__all__ = ["create_app"]
