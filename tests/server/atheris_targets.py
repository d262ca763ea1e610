"""Coverage-guided fuzz targets for atheris (libFuzzer), run by test_fuzz_atheris.py.

``python -m tests.server.atheris_targets TARGET -runs=N`` fuzzes one parser (or ``all``) with
N inputs;
libFuzzer exits 0 when all ran and non-zero on the first input that raised anything but the
parser's own refusal (the input is written out as crash-*). Targets: the RFC 6242 decoder
in both framings, the hardened XML parser with limits, the RESTCONF JSON limits and parser,
and the RESTCONF resource path parser.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import atheris

import models.generated as g  # the schema: imported first, so not instrumented (slow, not a target)

with atheris.instrument_imports(include=["server.netconf.framing", "server.restconf", "models.codec"]):
    from models.codec.errors import InstanceError
    from models.codec.xml import XmlLimits, parse
    from server.netconf.framing import Decoder, FramingError, MessageTooBig
    from server.restconf.errors import RestconfError
    from server.restconf.parse import check_json, parse_json
    from server.restconf.paths import parse_resource

LIMITS = XmlLimits(16, 200)


def framing(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    dec = Decoder(max_size=fdp.ConsumeIntInRange(1, 256), chunked=fdp.ConsumeBool())
    while fdp.remaining_bytes():
        dec.feed(fdp.ConsumeBytes(fdp.ConsumeIntInRange(1, 64)))
        try:
            while (m := dec.next_message()) is not None:
                if len(m) > dec.max_size:
                    raise AssertionError("a message over max_size came out")
        except MessageTooBig:
            continue
        except FramingError:
            return


def xml(data: bytes) -> None:
    try:
        parse(data, LIMITS)
    except InstanceError as e:
        if not e.issues or e.issues[0].tag not in ("malformed-message", "too-big"):
            raise


def json_body(data: bytes) -> None:
    try:
        check_json(data, LIMITS)
        parse_json(data)
    except RestconfError as e:
        if e.status not in (400, 413):
            raise


def path(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    whole = fdp.ConsumeBool()
    try:
        parse_resource(g.B, fdp.ConsumeUnicodeNoSurrogates(200), allow_whole_list=whole)
    except RestconfError as e:
        if not 400 <= e.status < 500:
            raise


TARGETS: dict[str, Callable[[bytes], None]] = {
    "framing": framing, "xml": xml, "json": json_body, "path": path,
}
_ALL = list(TARGETS.values())


def every(data: bytes) -> None:
    """All targets in one process (one start-up): the first byte picks the parser."""
    if data:
        _ALL[data[0] % len(_ALL)](data[1:])


def main() -> None:
    target = every if sys.argv[1] == "all" else TARGETS[sys.argv[1]]
    atheris.Setup([sys.argv[0], *sys.argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
