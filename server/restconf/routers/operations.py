"""Operation resources /restconf/operations/<module>:<rpc> (RFC 8040 §3.3.2, §3.6, §4.4.2).

POST invokes the rpc (server/restconf/invoke.py); the resource takes no other method but
OPTIONS (405 with ``Allow``). An unknown rpc is 404; an rpc of a loaded module that nothing
implements — e.g. NETCONF's own protocol operations — is 501 operation-not-supported.
The list of operations itself (GET /restconf/operations) is discovery's.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request, Response

from models.bundle import Bundle
from models.schema import SchemaNode
from server.restconf.dependencies import BodyDep, SessionDep, StateDep, UserDep
from server.restconf.errors import RestconfError
from server.restconf.invoke import invoke
from server.restconf.paths import decode
from server.restconf.query import check_none

__all__ = ["router"]

router = APIRouter(prefix="/restconf/operations", tags=["operations"])

ALLOW = "OPTIONS, POST"
_NAME = re.compile(r"([A-Za-z_][A-Za-z0-9_.-]*):([A-Za-z_][A-Za-z0-9_.-]*)")


def _raw_name(request: Request) -> str:
    raw: bytes = request.scope.get("raw_path") or request.url.path.encode()
    return raw.split(b"?", 1)[0].decode("latin-1").rsplit("/", 1)[-1]


def _rpc(bundle: Bundle, request: Request) -> SchemaNode:
    text = decode(_raw_name(request))
    m = _NAME.fullmatch(text)
    if m is None:
        raise RestconfError.one("invalid-value", f"{text!r} is not <module>:<rpc>", 400)
    module, name = m.groups()
    rpc = next((r for r in bundle.schema.rpcs if r.qname == (module, name)), None)
    if rpc is None:
        raise RestconfError.one("invalid-value", f"no operation {text}", 404)
    return rpc


@router.post("/{name}")
def post_operation(request: Request, session: SessionDep, raw: BodyDep) -> Response:
    return invoke(request, session, _rpc(session.ds.bundle, request), raw)


@router.options("/{name}")
def options_operation(request: Request, _user: UserDep, state: StateDep) -> Response:
    check_none(request.query_params.multi_items(), "OPTIONS")
    _rpc(state.datastores.bundle, request)
    return Response(status_code=200, headers={"Allow": ALLOW})


@router.api_route("/{name}", methods=["GET", "HEAD", "PUT", "PATCH", "DELETE"])
def other_method(request: Request, _user: UserDep, state: StateDep) -> Response:
    _rpc(state.datastores.bundle, request)
    raise RestconfError.one("operation-not-supported", f"an operation resource takes POST, "
                            f"not {request.method}", 405, headers={"Allow": ALLOW})
