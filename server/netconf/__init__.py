"""NETCONF over SSH (RFC 6241, RFC 6242): ``serve(config, datastores)`` starts the listener."""

from server.netconf.server import Server, serve

__all__ = ["Server", "serve"]
