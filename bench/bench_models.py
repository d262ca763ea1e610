"""Benchmark the model layer: compiling yang/, and decoding/encoding a large datastore.

    .venv/bin/python bench/bench_models.py [--entries N]      (or: ./run bench)

Prints a table; asserts nothing. Every measurement runs in a fresh subprocess so that
peak memory (ru_maxrss growth over the process's state just before the measured step) and
the garbage collector's state belong to that measurement alone. Two documents of N
ietf-interfaces entries: "plain" (name, description, type, enabled) and "ip" (the same plus
ietf-ip ipv4 mtu and one address: 2 list entries per interface, a choice, two patterns).
Target: decode (parse + validate) >= 100k list entries/s.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET = 100_000  # entries/s
IF_FILES = ["yang/ietf/ietf-interfaces@2018-02-20.yang", "yang/ietf/ietf-ip@2018-02-22.yang",
            "yang/iana/iana-if-type@2026-03-17.yang"]
SEARCH = ["yang/ietf", "yang/iana"]
NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
IF = "urn:ietf:params:xml:ns:yang:ietf-interfaces"
IP = "urn:ietf:params:xml:ns:yang:ietf-ip"
IANA = "urn:ietf:params:xml:ns:yang:iana-if-type"


def rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _ip(i: int) -> str:
    return f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"


def make_json(n: int, shape: str = "ip") -> str:
    entries: list[dict[str, Any]] = [
        {"name": f"eth{i}", "description": f"port {i}", "type": "iana-if-type:ethernetCsmacd",
         "enabled": i % 7 != 0}
        for i in range(n)
    ]
    if shape == "ip":
        for i, e in enumerate(entries):
            e["ietf-ip:ipv4"] = {"mtu": 1500, "address": [{"ip": _ip(i), "prefix-length": 24}]}
    return json.dumps({"ietf-interfaces:interfaces": {"interface": entries}})


def make_xml(n: int, shape: str = "ip") -> bytes:
    parts = [f'<data xmlns="{NC}"><interfaces xmlns="{IF}">']
    for i in range(n):
        ip = (f'<ipv4 xmlns="{IP}"><mtu>1500</mtu>'
              f"<address><ip>{_ip(i)}</ip><prefix-length>24</prefix-length></address>"
              f"</ipv4>") if shape == "ip" else ""
        parts.append(
            f"<interface><name>eth{i}</name><description>port {i}</description>"
            f'<type xmlns:ianaift="{IANA}">ianaift:ethernetCsmacd</type>'
            f"<enabled>{'false' if i % 7 == 0 else 'true'}</enabled>{ip}</interface>")
    parts.append("</interfaces></data>")
    return "".join(parts).encode()


# ---- measurements (each runs in its own subprocess) ----------------------------------------

def m_compile(_n: int, _gen: str) -> dict[str, Any]:
    from models.compiler.frontend import yang_files
    from models.compiler.package import import_package, schema_of, write_package

    files = yang_files([ROOT / "yang"])
    with tempfile.TemporaryDirectory() as out:
        base = rss_kib()
        c0 = time.process_time()
        t0 = time.perf_counter()
        schema, _fe = schema_of(files, [ROOT / p for p in SEARCH])
        t1 = time.perf_counter()
        write_package(schema, out)
        t2 = time.perf_counter()
        pkg = import_package(out)
        pkg.B.root_cls.model_rebuild()  # classes are built lazily (defer_build): force it
        t3 = time.perf_counter()
    return {"what": f"compile yang/ ({len(files)} modules)", "seconds": t3 - t0,
            "cpu": time.process_time() - c0,
            "detail": f"schema_of {t1 - t0:.2f}s, emit {t2 - t1:.2f}s, import+build {t3 - t2:.2f}s",
            "rss": rss_kib() - base}


def _load(gen: str) -> Any:
    from models.compiler.package import import_package

    return import_package(gen)


def _warm(root: Any, fmt: str) -> None:
    from models.codec import decode_json, decode_xml

    (decode_xml(root, make_xml(3)) if fmt == "xml" else decode_json(root, make_json(3)))


def m_decode(n: int, gen: str, fmt: str, shape: str = "ip") -> dict[str, Any]:
    from models.codec import decode_json, decode_xml

    root = _load(gen).Root
    _warm(root, fmt)
    doc: str | bytes = make_xml(n, shape) if fmt == "xml" else make_json(n, shape)
    gc.collect()
    base = rss_kib()
    t0, c0 = time.perf_counter(), time.process_time()
    obj = decode_xml(root, doc) if fmt == "xml" else decode_json(root, doc)
    t1, c1 = time.perf_counter(), time.process_time()
    gc.collect()  # the collection the decode deferred (models/codec/_util.no_gc)
    t2, c2 = time.perf_counter(), time.process_time()
    assert len(obj.interfaces.interface) == n
    lists = n * (2 if shape == "ip" else 1)
    return {"what": f"decode {fmt} {shape} ({len(doc) / 1e6:.1f} MB)", "seconds": t1 - t0, "cpu": c1 - c0,
            "rate": lists / (t1 - t0), "cpu_rate": lists / (c1 - c0), "rss": rss_kib() - base,
            "detail": f"+ deferred gc.collect() {t2 - t1:.2f}s (cpu {c2 - c1:.2f}s)"}


def m_encode(n: int, gen: str, fmt: str) -> dict[str, Any]:
    from models.codec import decode_json, encode_json, encode_xml, to_bytes

    root = _load(gen).Root
    obj = decode_json(root, make_json(n))
    gc.collect()
    base = rss_kib()
    t0, c0 = time.perf_counter(), time.process_time()
    out = to_bytes(encode_xml(obj)) if fmt == "xml" else encode_json(obj).encode()
    t1, c1 = time.perf_counter(), time.process_time()
    return {"what": f"encode {fmt} ({len(out) / 1e6:.1f} MB)", "seconds": t1 - t0, "cpu": c1 - c0,
            "rate": n / (t1 - t0), "rss": rss_kib() - base, "detail": ""}


def run_one(args: list[str]) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--one", *args], check=True,
                         capture_output=True, text=True, cwd=ROOT)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--entries", type=int, default=100_000)
    ap.add_argument("--one", nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        kind, n, gen, *rest = a.one
        fn = {"compile": m_compile, "decode": m_decode, "encode": m_encode}[kind]
        print(json.dumps(fn(int(n), gen, *rest)))
        return

    from models.compiler.package import compile_package

    n = a.entries
    print(f"bench_models: {n:,} entries, python {platform.python_version()}, "
          f"{platform.machine()}, {time.strftime('%Y-%m-%d')}")
    with tempfile.TemporaryDirectory() as tmp:
        gen = str(Path(tmp) / "gen")
        compile_package([ROOT / f for f in IF_FILES], gen, [ROOT / p for p in SEARCH])
        rows = [run_one(["compile", "0", gen])]
        for shape in ("plain", "ip"):
            for fmt in ("xml", "json"):
                rows.append(run_one(["decode", str(n), gen, fmt, shape]))
        for fmt in ("xml", "json"):
            rows.append(run_one(["encode", str(n), gen, fmt]))
    print(f"{'measurement':<30} {'wall':>7} {'cpu':>7} {'list entries/s':>14} {'(cpu)':>10} "
          f"{'>=100k/s':>8} {'peak RSS+':>10}  detail")
    for r in rows:
        rate = f"{r['rate']:,.0f}" if "rate" in r else ""
        cpu_rate = f"{r.get('cpu_rate', n / r['cpu']):,.0f}" if "rate" in r else ""
        target = ("ok" if r["rate"] >= TARGET else "MISSED") if r["what"].startswith("decode") else ""
        print(f"{r['what']:<30} {r['seconds']:>6.2f}s {r['cpu']:>6.2f}s {rate:>14} {cpu_rate:>10} "
              f"{target:>8} {r['rss'] / 1024:>7.0f} MB  {r['detail']}")


if __name__ == "__main__":
    main()
