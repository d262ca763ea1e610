"""Turning NETCONF data into what an operator reads: XML, RFC 7951 JSON, a tree, or ``set``
lines; paths given on the command line into XPath filters; compare results into a diff.

``set`` lines name every configured value on one line, Junos-style, words separated by
spaces: nodes by name (module-qualified where the module changes, as in RFC 7951), list
entries by their key values::

    set ietf-interfaces:interfaces interface eth0 type iana-if-type:ethernetCsmacd
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from lxml import etree
from rich.text import Text
from rich.tree import Tree

from models.bundle import Bundle
from models.schema import Kind, SchemaNode

__all__ = ["diff_lines", "pretty_xml", "set_lines", "to_json", "to_tree", "xpath_of"]

_IDENT = re.compile(r"[A-Za-z_][\w.-]*")
_PLAIN = re.compile(r"[\w.:/@+,=-]+")


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _kids(elem: Any) -> list[Any]:
    return [c for c in elem if isinstance(c.tag, str)]


def pretty_xml(data: Any) -> str:
    """The children of a ``<data>`` element, indented, without the wrapper."""
    out = []
    for c in _kids(data):
        c = etree.fromstring(etree.tostring(c))  # a copy: re-indenting must not touch the reply
        etree.indent(c, space="  ")
        out.append(etree.tostring(c, encoding="unicode"))
    return "\n".join(out)


def to_json(root_cls: Any, data: Any) -> Any:
    """RFC 7951 JSON (as Python data) of a ``<data>`` element, decoded against the schema."""
    from models.codec.json import encode_json
    from models.codec.xml import decode_xml

    return json.loads(encode_json(decode_xml(root_cls, data)))


def _value(elem: Any, namespaces: dict[str, str]) -> str:
    """Leaf text, with an XML prefix (identityref, instance-identifier) shown as the module
    name RFC 7951 uses."""
    text = (elem.text or "").strip()
    prefix, colon, rest = text.partition(":")
    if colon and _IDENT.fullmatch(prefix) and prefix in (elem.nsmap or {}):
        module = namespaces.get(elem.nsmap[prefix])
        if module is not None:
            return f"{module}:{rest}"
    return text


def _word(text: str) -> str:
    return text if _PLAIN.fullmatch(text) else json.dumps(text, ensure_ascii=False)


def _child_node(bundle: Bundle, parent: SchemaNode, elem: Any,
                parent_module: str = "") -> tuple[SchemaNode | None, str, str]:
    ns, local = _split(elem.tag)
    module = bundle.schema.namespaces.get(ns, "")
    sn = parent.data_child(module, local) if module else None
    if sn is None and parent_module:
        # anydata content (compare's values) may leave a node in its holder's namespace
        # (RFC 7951 §6.8 names without a module inherit it): take it by name under parent.
        sn = parent.data_child(parent_module, local)
        if sn is not None:
            module = sn.module
    return sn, module, local


def _entries(bundle: Bundle, parent: SchemaNode, parent_module: str,
             kids: list[Any]) -> Iterator[tuple[list[str], Any, SchemaNode | None, str]]:
    """(words naming the child, child element, its schema node, its module) per child."""
    for c in kids:
        sn, module, local = _child_node(bundle, parent, c, parent_module)
        name = local if module == parent_module else f"{module}:{local}"
        words = [name]
        if sn is not None and sn.kind is Kind.LIST and sn.keys:
            for k in sn.keys:
                kv = next((x for x in _kids(c) if _split(x.tag)[1] == k), None)
                words.append(_word(_value(kv, bundle.schema.namespaces)) if kv is not None else "?")
        yield words, c, sn, module


def set_lines(bundle: Bundle, elem: Any, parent: SchemaNode | None = None,
              prefix: tuple[str, ...] = (), parent_module: str = "") -> list[str]:
    """``set`` lines for the children of ``elem`` (a ``<data>``/``<config>`` element, or a
    node element with ``parent`` its schema node)."""
    parent = bundle.schema.root if parent is None else parent
    return _lines(bundle, _kids(elem), parent, prefix, parent_module)


def _inner(sn: SchemaNode, elem: Any) -> list[Any]:
    """The children of a container or list entry element, without the list keys."""
    keys = set(sn.keys) if sn.kind is Kind.LIST else set()
    return [k for k in _kids(elem) if _split(k.tag)[1] not in keys]


def _lines(bundle: Bundle, kids: list[Any], parent: SchemaNode, prefix: tuple[str, ...],
           parent_module: str) -> list[str]:
    out: list[str] = []
    for words, c, sn, module in _entries(bundle, parent, parent_module, kids):
        here = (*prefix, *words)
        if sn is None or sn.kind in (Kind.LEAF, Kind.LEAF_LIST):
            text = _value(c, bundle.schema.namespaces)
            out.append(" ".join(("set", *here, _word(text))) if text else " ".join(("set", *here)))
        elif sn.kind in (Kind.ANYDATA, Kind.ANYXML):
            out.append(" ".join(("set", *here, _word(etree.tostring(c, encoding="unicode")))))
        else:
            lines = _lines(bundle, _inner(sn, c), sn, here, module)
            out.extend(lines or [" ".join(("set", *here))])
    return out


def to_tree(bundle: Bundle, data: Any, label: str) -> Tree:
    """A rich tree of a ``<data>`` element."""
    top = Tree(Text(label, style="bold"))

    def walk(kids: list[Any], parent: SchemaNode, parent_module: str, tree: Tree) -> None:
        for words, c, sn, module in _entries(bundle, parent, parent_module, kids):
            if sn is None or sn.kind not in (Kind.CONTAINER, Kind.LIST):
                t = Text(words[0], style="cyan")
                t.append(" " + _value(c, bundle.schema.namespaces), style="green")
                tree.add(t)
                continue
            t = Text(words[0], style="bold blue")
            if len(words) > 1:
                t.append(" " + " ".join(words[1:]), style="yellow")
            walk(_inner(sn, c), sn, module, tree.add(t))

    walk(_kids(data), bundle.schema.root, "", top)
    return top


def _path_words(bundle: Bundle, path: str) -> tuple[list[str], SchemaNode, int]:
    """Words naming an RFC 7951 instance path (compare output), its schema node, and how
    many of the words its last step takes."""
    from datastore.path import parse_path
    from models.types import MODULE_NAMES

    words: list[str] = []
    module = ""
    node = bundle.schema.root
    last = 0
    for step in parse_path(bundle, path):
        n = step.node
        last = len(words)
        words.append(n.name if n.module == module else f"{n.module}:{n.name}")
        module, node = n.module, n
        if step.key is not None:
            if n.kind is Kind.LIST:
                for kname, v in zip(n.keys, step.key, strict=False):
                    kn = n.child(n.module, kname)
                    assert kn is not None
                    words.append(_word(bundle.type_of(kn).to_text(v, MODULE_NAMES)))
            else:
                words.append(_word(bundle.type_of(n).to_text(step.key[0], MODULE_NAMES)))
    return words, node, len(words) - last


def diff_lines(bundle: Bundle, changes: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(sign, line) per changed value: ``+ set …`` for new and modified values (a modified
    one also as ``- delete …`` of its old place), ``- delete …`` for removed nodes."""
    out: list[tuple[str, str]] = []
    for ch in changes:
        path = ch["path"] or "/"
        words, node, last = _path_words(bundle, path)
        if ch["operation"] == "delete" or ch["value"] is None:
            out.append(("-", " ".join(("delete", *words))))
            continue
        parent = node.data_parent() or bundle.schema.root
        parent_words = words[:len(words) - last]
        lines = _lines(bundle, [ch["value"]], parent, tuple(parent_words),
                       parent.module if parent is not bundle.schema.root else "")
        sign = "+" if ch["operation"] == "create" else "~"
        out.extend((sign, ln) for ln in lines)
    return out


def xpath_of(bundle: Bundle, path: str) -> tuple[str, dict[str, str]]:
    """An XPath filter and its namespace bindings for a command-line PATH.

    ``/ietf-interfaces:interfaces/interface[name='eth0']``: an XPath (RFC 7951 style module
    prefixes are bound to their namespaces; unprefixed steps match any module).
    ``ietf-interfaces:interfaces/interface=eth0``: a RESTCONF data path (RFC 8040 §3.5.3),
    keys in schema order, converted to that XPath.
    """
    namespaces = {m.name: m.namespace for m in bundle.schema.modules.values()}
    if not path.startswith("/"):
        path = _restconf_to_xpath(bundle, path)
    nsmap = {p: namespaces[p] for p in re.findall(r"([A-Za-z_][\w.-]*):", path) if p in namespaces}
    return path, nsmap


def _restconf_to_xpath(bundle: Bundle, path: str) -> str:
    from urllib.parse import unquote

    node = bundle.schema.root
    module = ""
    out: list[str] = []
    for seg in path.strip("/").split("/"):
        name_part, eq, keys_part = seg.partition("=")
        mod, _colon, name = unquote(name_part).rpartition(":")
        module = mod or module
        if not module:
            raise ValueError(f"the first node {name!r} must be module-qualified (module:{name})")
        child = node.data_child(module, name)
        if child is None:
            raise ValueError(f"no data node {unquote(name_part)!r} under {node.path() if node.module else '/'}")
        step = f"/{module}:{name}" if mod or not out else f"/{name}"
        if eq:
            values = [unquote(v) for v in keys_part.split(",")]
            if child.kind is Kind.LIST and len(values) == len(child.keys):
                step += "".join(f"[{k}={_literal(v)}]" for k, v in zip(child.keys, values, strict=True))
            elif child.kind is Kind.LEAF_LIST and len(values) == 1:
                step += f"[.={_literal(values[0])}]"
            else:
                raise ValueError(f"{name} takes {len(child.keys) or 1} key value(s) after '='")
        out.append(step)
        node = child
    return "".join(out)


def _literal(v: str) -> str:
    return f"'{v}'" if "'" not in v else f'"{v}"'
