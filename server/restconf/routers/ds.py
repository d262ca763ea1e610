"""The NMDA datastores (RFC 8527 §3.1): ``/restconf/ds/ietf-datastores:{running,candidate,
startup,operational}`` and their data resources.

The handlers are the data router's own (routers/data.py): the ``Target`` dependency reads
the datastore from the URI, targets.py reads and edits it. Here only the routes are declared.
"""

from __future__ import annotations

from fastapi import APIRouter

from server.restconf.dependencies import DS_PREFIX
from server.restconf.routers import data

__all__ = ["router"]

router = APIRouter(prefix=DS_PREFIX, tags=["nmda"])

_HANDLERS = (
    (data.get_data, ["GET", "HEAD"]),
    (data.put_data, ["PUT"]),
    (data.post_data, ["POST"]),
    (data.patch_data, ["PATCH"]),
    (data.delete_data, ["DELETE"]),
    (data.options_data, ["OPTIONS"]),
)

for _endpoint, _methods in _HANDLERS:
    for _path in ("/{datastore}", "/{datastore}/{rest:path}"):
        router.add_api_route(_path, _endpoint, methods=_methods)
