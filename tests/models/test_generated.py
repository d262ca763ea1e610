"""The generated package checked in under models/generated must be what yang/ compiles to."""

from __future__ import annotations

from pathlib import Path

from models.compiler.package import compile_package, features_file

REPO = Path(__file__).resolve().parents[2]


def test_shipped_package_is_up_to_date(tmp_path: Path) -> None:
    yang = REPO / "yang"
    compile_package([yang], tmp_path, [yang / "ietf", yang / "iana", yang / "yangd"],
                    features_file(yang / "features.toml"))
    shipped = REPO / "models" / "generated"
    want = sorted(p.name for p in tmp_path.iterdir() if p.is_file())
    have = sorted(p.name for p in shipped.iterdir() if p.is_file() and p.suffix in (".py", ".json"))
    assert have == want, "models/generated is stale: run `yangd compile`"
    stale = [n for n in want if (tmp_path / n).read_bytes() != (shipped / n).read_bytes()]
    assert not stale, f"models/generated is stale ({', '.join(stale)}): run `yangd compile`"


def test_shipped_package_loads_every_module() -> None:
    import models.generated as g

    implemented = {m.name for m in g.B.schema.modules.values() if m.implemented}
    files = {p.name.split("@")[0] for p in (REPO / "yang").rglob("*.yang")}
    submodules = {"ietf-ipv6-router-advertisements"}
    assert implemented == files - submodules
    # every class builds (pydantic schemas are deferred until first use)
    root = g.Root.model_validate({})
    assert root.model_dump(exclude_none=True) == {}


def test_instances_share_their_fields_set() -> None:
    """Instances with the same fields set share one set (models/bundle.py: a set per list
    entry was half of its memory), and copies with changes never alter the shared one."""
    import json

    import models.generated as g
    from models.codec.json import decode_json

    eth = "iana-if-type:ethernetCsmacd"
    doc = {"ietf-interfaces:interfaces": {"interface": [
        {"name": "a", "type": eth, "enabled": True}, {"name": "b", "type": eth, "enabled": False},
        {"name": "c", "type": eth}]}}
    a, b, c = decode_json(g.Root, json.dumps(doc)).interfaces.interface
    assert a.__pydantic_fields_set__ is b.__pydantic_fields_set__
    assert c.model_fields_set == {"name", "type"}
    changed = [a.model_copy(update={"description": "x"}), a.replace(description="y")]
    for x in changed:
        assert x.model_fields_set == {"name", "type", "enabled", "description"}
    assert a.model_fields_set == b.model_fields_set == {"name", "type", "enabled"}
