"""Shared helpers of the datastore session/commit/history tests: a small test module and
shortcuts to build edits and compare trees.

The module ``dst`` has what the edit semantics care about: a keyed list (with a leaf-list
and a container inside each entry), a top-level leaf-list, a non-presence container, a
presence container, a choice with two cases, and a ``must`` constraint so validation can
fail.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

from datastore.datastores import Datastores
from datastore.session import Session
from datastore.store import Store
from models.bundle import YangModel
from models.compiler.package import compile_package, import_package
from models.edit import EditNode, Op, edit_from_json
from models.errors import YangdErrors

REPO = Path(__file__).resolve().parents[2]
SCRATCH = Path("/tmp/dstest_b")

DST_YANG = """\
module dst {
  yang-version 1.1;
  namespace "urn:yangd:test:dst";
  prefix d;

  container top {
    list item {
      key "name";
      leaf name { type string; }
      leaf value { type int32; }
      leaf-list tag { type string; }
      container opt {
        leaf a { type string; }
        leaf b { type int32; }
      }
    }
    leaf-list word { type string; }
    container box {
      leaf x { type int32; }
      leaf y { type string; }
    }
    container pbox {
      presence "enabled";
      leaf z { type int32; }
    }
    choice pick {
      case one {
        leaf alpha { type string; }
      }
      case two {
        leaf beta { type int32; }
        leaf gamma { type string; }
      }
    }
    leaf guarded {
      type int32;
      must ". < 1000" { error-message "guarded must stay below 1000"; }
    }
  }
}
"""

_lock = threading.Lock()
_pkg: dict[str, ModuleType] = {}


def dst_package_dir() -> Path:
    """Compile ``dst`` once per process into a fresh scratch directory; returns the package dir."""
    with _lock:
        if "dst" not in _pkg:
            SCRATCH.mkdir(parents=True, exist_ok=True)
            d = Path(tempfile.mkdtemp(prefix=f"pkg-{os.getpid()}-", dir=SCRATCH))
            (d / "src").mkdir()
            (d / "src" / "dst.yang").write_text(DST_YANG, encoding="utf-8")
            compile_package([d / "src" / "dst.yang"], d / "pkg", [d / "src"])
            _pkg["dst"] = import_package(d / "pkg")
            _pkg["dir"] = d / "pkg"  # type: ignore[assignment]
        return Path(str(_pkg["dir"]))


def dst_package() -> ModuleType:
    dst_package_dir()
    return _pkg["dst"]


def bundle() -> Any:
    return dst_package().B


def top_edit(value: dict[str, Any], op: Op | None = None) -> list[EditNode]:
    """Edit nodes for the JSON ``value`` of container /dst:top."""
    b = bundle()
    return edit_from_json(b, b.node("/dst:top"), value, op)


def child_edit(name: str, value: Any, op: Op | None = None) -> list[EditNode]:
    """An edit of /dst:top (no operation) whose child ``name`` has ``value`` and ``op``."""
    b = bundle()
    top = b.node("/dst:top")
    return [EditNode(top, None, children=edit_from_json(b, b.node(f"/dst:top/{name}"), value, op))]


def dump(tree: YangModel) -> str:
    return tree.model_dump_json(exclude_none=True)


def as_json(tree: YangModel) -> dict[str, Any]:
    return tree.model_dump(mode="json", exclude_none=True)


def item_names(tree: YangModel) -> list[str]:
    top = getattr(tree, "top", None)
    items = getattr(top, "item", None) if top is not None else None
    return [e.name for e in items] if items is not None else []


def open_ds(url: str, **kw: Any) -> Datastores:
    return Datastores(bundle(), Store.open(url), **kw)


def state(ds: Datastores, s: Session) -> tuple[str, str, str]:
    """running, candidate (as the shared candidate), startup: byte-exact JSON."""
    return dump(ds.running), dump(ds.candidate.tree), dump(s.get("startup"))


def errors_of(fn: Any, *args: Any, **kw: Any) -> YangdErrors:
    try:
        fn(*args, **kw)
    except YangdErrors as e:
        return e
    raise AssertionError(f"{getattr(fn, '__name__', fn)} did not fail")


def add_item(s: Session, name: str, value: int = 1, target: str = "candidate") -> None:
    s.edit(target, top_edit({"item": [{"name": name, "value": value}]}))
