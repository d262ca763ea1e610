"""RESTCONF (RFC 8040) over HTTPS: a FastAPI application served by uvicorn in yangd's loop."""

from server.restconf.app import build_app
from server.restconf.server import Server, serve

__all__ = ["Server", "build_app", "serve"]
