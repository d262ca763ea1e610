"""YANG built-in types at run time: pydantic core schemas plus the XML lexical forms.

Each leaf gets a ``YangType`` built from its descriptor (models/compiler/types.py). It gives
pydantic a ``json_or_python`` schema: the Python side takes typed values (int, Decimal, str,
frozenset for bits, bytes, True for empty), the JSON side takes exactly the RFC 7951
encoding (64-bit integers and decimal64 as strings, empty as ``[null]``, identities
module-qualified) so ``Model.model_validate_json`` is a strict RFC 7951 decoder and
``model_dump_json`` an encoder. The XML side (RFC 7950 lexical forms, with prefixes resolved
through the element's namespace map) is ``from_text`` / ``to_text``, used by models/codec.
"""

from __future__ import annotations

import base64
import binascii
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any, Protocol

from pydantic_core import PydanticCustomError, SchemaValidator, core_schema

from models.schema import Schema
from models.xpath.paths import canonical_instance_identifier, parse_instance_identifier
from models.xsd_regex import compile_pattern

CoreSchema = core_schema.CoreSchema

INT_BOUNDS: dict[str, tuple[int, int]] = {
    "int8": (-(2**7), 2**7 - 1), "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1),
    "uint8": (0, 2**8 - 1), "uint16": (0, 2**16 - 1),
    "uint32": (0, 2**32 - 1), "uint64": (0, 2**64 - 1),
}
_DEC_RE = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


class Namespaces(Protocol):
    """How XML prefixes are read (an element's nsmap) and written (declared on demand)."""

    def module_of_prefix(self, prefix: str | None) -> str | None: ...

    def prefix_of_module(self, module: str) -> str: ...


def invalid(msg: str, app_tag: str | None = None) -> PydanticCustomError:
    ctx = {"app_tag": app_tag} if app_tag else None
    return PydanticCustomError("invalid-value", msg, ctx)


class YangType(ABC):
    """Base: a leaf type with its Python/JSON core schemas and XML lexical form."""

    annotation = "str"  # the Python type the generated field declares

    def __init__(self, d: Mapping[str, Any], schema: Schema, module: str):
        self.d = d
        self.schema = schema
        self.module = module  # the leaf's module: default namespace of unqualified identities

    # --- pydantic ------------------------------------------------------------------------
    @abstractmethod
    def python_schema(self) -> CoreSchema:
        """The core schema of the Python value, with every restriction of the type."""

    def json_schema(self) -> CoreSchema:
        return self.python_schema()

    def to_json(self, v: Any) -> Any:
        return v

    json_serializes = False  # True when to_json differs from pydantic's own JSON of the value

    @cached_property
    def core_schema(self) -> CoreSchema:
        ser = (
            core_schema.plain_serializer_function_ser_schema(self.to_json, when_used="json")
            if self.json_serializes else None
        )
        return core_schema.json_or_python_schema(
            json_schema=self.json_schema(), python_schema=self.python_schema(), serialization=ser
        )

    @cached_property
    def _validator(self) -> SchemaValidator:
        return SchemaValidator(self.python_schema())

    def validate(self, v: Any) -> Any:
        """Check a Python value against every restriction; raises pydantic ValidationError."""
        return self._validator.validate_python(v)

    @cached_property
    def _json_validator(self) -> SchemaValidator:
        return SchemaValidator(self.json_schema())

    def from_json(self, v: Any) -> Any:
        """A decoded JSON value (RFC 7951) to the Python value, fully checked."""
        return self._json_validator.validate_python(v)

    # --- XML lexical form ------------------------------------------------------------------
    def from_text(self, text: str, ns: Namespaces) -> Any:
        """Lexical → Python value (restrictions are checked by the model's schema)."""
        return text

    def to_text(self, v: Any, ns: Namespaces) -> str:
        return str(v)


def _after(schema: CoreSchema, fn: Callable[[Any], Any] | None) -> CoreSchema:
    return core_schema.no_info_after_validator_function(fn, schema) if fn else schema


def _parts_check(parts: list[list[Any]], what: str, measure: Callable[[Any], Any],
                 em: str | None, et: str | None) -> Callable[[Any], Any]:
    def check(v: Any) -> Any:
        m = measure(v)
        for lo, hi in parts:
            if lo <= m <= hi:
                return v
        raise invalid(em or f"{what} {m} is not in {_fmt_parts(parts)}", et)
    return check


def _fmt_parts(parts: list[list[Any]]) -> str:
    return " | ".join(str(a) if a == b else f"{a}..{b}" for a, b in parts)


class IntType(YangType):
    annotation = "int"

    @cached_property
    def bounds(self) -> list[list[int]]:
        return self.d.get("range") or [list(INT_BOUNDS[self.d["b"]])]

    def _checked(self, s: CoreSchema) -> CoreSchema:
        parts = self.bounds
        check = None
        if len(parts) > 1 or self.d.get("range_em") or self.d.get("range_et"):
            check = _parts_check(parts, "value", lambda v: v, self.d.get("range_em"), self.d.get("range_et"))
        return _after(s, check)

    def python_schema(self) -> CoreSchema:
        lo, hi = self.bounds[0][0], self.bounds[-1][1]
        if self.d.get("range_em") or self.d.get("range_et"):  # the range check reports them
            lo, hi = INT_BOUNDS[self.d["b"]]
        return self._checked(core_schema.int_schema(strict=True, ge=lo, le=hi))

    def json_schema(self) -> CoreSchema:
        if self.d["b"] in ("int64", "uint64"):  # RFC 7951 §6.1: a JSON string
            return _after(core_schema.str_schema(strict=True), self._from_json_str)
        return self.python_schema()

    def _from_json_str(self, s: str) -> int:
        v: int = self.validate(self._lex(s))
        return v

    @property
    def json_serializes(self) -> bool:  # type: ignore[override]
        return self.d["b"] in ("int64", "uint64")

    def to_json(self, v: Any) -> Any:
        return str(v) if self.d["b"] in ("int64", "uint64") else v  # also used by unions

    def _lex(self, text: str) -> int:
        # RFC 7950 §9.2.1: optional sign then ASCII decimal digits (int() alone would also
        # take "1_000", " 1", and non-ASCII digits)
        t = text.strip()
        digits = t[1:] if t[:1] in ("+", "-") else t
        if not (digits.isascii() and digits.isdigit()):
            raise invalid(f"{text!r} is not a valid {self.d['b']}")
        return int(t)

    def from_text(self, text: str, ns: Namespaces) -> Any:
        return self._lex(text)


class DecimalType(YangType):
    annotation = "Decimal"
    json_serializes = True

    @cached_property
    def fd(self) -> int:
        return int(self.d["fd"])

    def python_schema(self) -> CoreSchema:
        fd = self.fd
        limit = Decimal(2**63 - 1).scaleb(-fd)
        parts = [[Decimal(a), Decimal(b)] for a, b in self.d.get("range", [])] or [
            [-limit - Decimal(1).scaleb(-fd), limit]]
        rng = _parts_check(parts, "value", lambda v: v, self.d.get("range_em"), self.d.get("range_et"))

        def check(v: Decimal) -> Decimal:
            if not v.is_finite():
                raise invalid(f"{v} is not a decimal64 value")
            exp = v.as_tuple().exponent
            if isinstance(exp, int) and exp < -fd and v != v.quantize(Decimal(1).scaleb(-fd)):
                raise invalid(f"{v} has more than {fd} fraction digits")
            rng(v)
            return v
        return core_schema.no_info_after_validator_function(check, core_schema.is_instance_schema(Decimal))

    def json_schema(self) -> CoreSchema:
        return _after(core_schema.str_schema(strict=True), self._from_json_str)

    def _from_json_str(self, s: str) -> Decimal:
        v: Decimal = self.validate(self._lex(s))
        return v

    def _lex(self, text: str) -> Decimal:
        t = text.strip()
        if not _DEC_RE.fullmatch(t):
            raise invalid(f"{text!r} is not a valid decimal64")
        try:
            return Decimal(t)
        except InvalidOperation:
            raise invalid(f"{text!r} is not a valid decimal64") from None

    def from_text(self, text: str, ns: Namespaces) -> Any:
        return self._lex(text)

    def to_text(self, v: Any, ns: Namespaces) -> str:
        return self.canonical(v)

    def to_json(self, v: Any) -> Any:
        return self.canonical(v)

    def canonical(self, v: Decimal) -> str:
        """RFC 7950 §9.3.2: no '+', no leading/trailing zeros, one digit each side of '.'."""
        s = format(v.quantize(Decimal(1).scaleb(-self.fd)), "f")
        if "." in s:
            s = s.rstrip("0")
            if s.endswith("."):
                s += "0"
        else:
            s += ".0"
        return "0.0" if s in ("-0.0",) else s


class StringType(YangType):
    annotation = "str"

    def python_schema(self) -> CoreSchema:
        checks: list[Callable[[Any], Any]] = []
        lengths = self.d.get("length")
        if lengths:
            checks.append(_parts_check(lengths, "length", len, self.d.get("length_em"), self.d.get("length_et")))
        for xsd, inverted, em, et in self.d.get("pattern", ()):
            checks.append(_pattern_check(xsd, inverted, em, et))
        return _after(core_schema.str_schema(strict=True), _chain(checks))


def _pattern_check(xsd: str, inverted: bool, em: str | None, et: str | None) -> Callable[[str], str]:
    rx = compile_pattern(xsd)

    def check(v: str) -> str:
        if (rx.fullmatch(v) is None) != inverted:
            raise invalid(em or f"{v!r} does not match pattern {xsd!r}"
                          + (" (invert-match)" if inverted else ""), et)
        return v
    return check


def _chain(checks: list[Callable[[Any], Any]]) -> Callable[[Any], Any] | None:
    if not checks:
        return None
    if len(checks) == 1:
        return checks[0]

    def run(v: Any) -> Any:
        for c in checks:
            v = c(v)
        return v
    return run


class BoolType(YangType):
    annotation = "bool"

    def python_schema(self) -> CoreSchema:
        return core_schema.bool_schema(strict=True)

    def from_text(self, text: str, ns: Namespaces) -> Any:
        t = text.strip()
        if t == "true":
            return True
        if t == "false":
            return False
        raise invalid(f"{text!r} is not a valid boolean")

    def to_text(self, v: Any, ns: Namespaces) -> str:
        return "true" if v else "false"


class EmptyType(YangType):
    """``empty``: present is True; JSON ``[null]`` (RFC 7951 §6.9), XML an empty element."""

    annotation = "Literal[True]"
    json_serializes = True

    def python_schema(self) -> CoreSchema:
        return core_schema.literal_schema([True])

    def json_schema(self) -> CoreSchema:
        return core_schema.no_info_after_validator_function(
            lambda _v: True, core_schema.tuple_schema([core_schema.none_schema()], strict=False))

    def to_json(self, v: Any) -> Any:
        return [None]

    def from_text(self, text: str, ns: Namespaces) -> Any:
        if text.strip():
            raise invalid(f"{text!r}: a leaf of type empty has no value")
        return True

    def to_text(self, v: Any, ns: Namespaces) -> str:
        return ""


class EnumType(YangType):
    @cached_property
    def names(self) -> list[str]:
        return [n for n, _ in self.d.get("enum", [])]

    @property
    def annotation(self) -> str:  # type: ignore[override]
        return "str"

    def python_schema(self) -> CoreSchema:
        names = set(self.names)

        def check(v: str) -> str:
            if v not in names:
                raise invalid(f"{v!r} is not one of the enum values {sorted(names)}")
            return v
        return _after(core_schema.str_schema(strict=True), check)

    def from_text(self, text: str, ns: Namespaces) -> Any:
        return text.strip()

    def value_of(self, name: str) -> int | None:
        return dict(self.d.get("enum", [])).get(name)


class BitsType(YangType):
    annotation = "frozenset[str]"
    json_serializes = True

    @cached_property
    def positions(self) -> dict[str, int]:
        return {n: p for n, p in self.d.get("bits", [])}

    def python_schema(self) -> CoreSchema:
        def check(v: Any) -> frozenset[str]:
            if isinstance(v, str) or not isinstance(v, Iterable):
                raise invalid("bits are a set of bit names")
            out = frozenset(v)
            bad = sorted(b for b in out if b not in self.positions)
            if bad:
                raise invalid(f"unknown bit(s) {', '.join(bad)}")
            return out
        return core_schema.no_info_plain_validator_function(check)

    def json_schema(self) -> CoreSchema:
        return _after(core_schema.str_schema(strict=True), self._lex)

    def _lex(self, text: str) -> frozenset[str]:
        names = text.split()
        if len(set(names)) != len(names):
            raise invalid(f"{text!r}: a bit is named twice")
        return self.validate(names)  # type: ignore[no-any-return]

    def from_text(self, text: str, ns: Namespaces) -> Any:
        return self._lex(text)

    def canonical(self, v: Iterable[str]) -> str:
        return " ".join(sorted(v, key=lambda b: self.positions.get(b, 0)))

    def to_text(self, v: Any, ns: Namespaces) -> str:
        return self.canonical(v)

    def to_json(self, v: Any) -> Any:
        return self.canonical(v)


class BinaryType(YangType):
    annotation = "bytes"
    json_serializes = True

    def python_schema(self) -> CoreSchema:
        lengths = self.d.get("length")
        check = _parts_check(lengths, "length", len, self.d.get("length_em"), self.d.get("length_et")) if lengths else None
        return _after(core_schema.bytes_schema(strict=True), check)

    def json_schema(self) -> CoreSchema:
        return _after(core_schema.str_schema(strict=True), lambda s: self.validate(self._lex(s)))

    def _lex(self, text: str) -> bytes:
        try:
            return base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError):
            raise invalid(f"{text[:40]!r} is not valid base64") from None

    def from_text(self, text: str, ns: Namespaces) -> Any:
        return self._lex(text)

    def to_text(self, v: Any, ns: Namespaces) -> str:
        return base64.b64encode(v).decode("ascii")

    def to_json(self, v: Any) -> Any:
        return base64.b64encode(v).decode("ascii")


class IdentityrefType(YangType):
    """Values are always the qualified ``module:identity``; the registry is the Schema's."""

    def allowed(self) -> frozenset[str]:
        return self._allowed

    @cached_property
    def _allowed(self) -> frozenset[str]:  # the identity set is fixed once the schema is loaded
        sets = [self.schema.derived_from(b) for b in self.d.get("bases", ())]
        return frozenset.intersection(*sets) if sets else frozenset()

    def python_schema(self) -> CoreSchema:
        def check(v: str) -> str:
            if ":" not in v:
                raise invalid(f"identity {v!r} must be module-qualified")
            if v not in self.allowed():
                raise invalid(f"{v!r} is not an identity derived from {', '.join(self.d.get('bases', ()))}")
            return v
        return _after(core_schema.str_schema(strict=True), check)

    def json_schema(self) -> CoreSchema:
        return _after(core_schema.str_schema(strict=True),
                      lambda s: self.validate(s if ":" in s else f"{self.module}:{s}"))

    def from_text(self, text: str, ns: Namespaces) -> Any:
        prefix, _, name = text.strip().rpartition(":")
        module = ns.module_of_prefix(prefix or None)
        if module is None:
            raise invalid(f"{text!r}: prefix {prefix!r} is not declared" if prefix else
                          f"{text!r}: no default namespace for an unprefixed identity")
        return f"{module}:{name}"

    def to_text(self, v: Any, ns: Namespaces) -> str:
        module, _, name = v.partition(":")
        return f"{ns.prefix_of_module(module)}:{name}"


class InstanceIdType(YangType):
    """Values are held in the RFC 7951 §6.11 form (a module name on the first node and where
    the module changes); XML writes every node name with a declared prefix (RFC 7950 §9.13.2)."""

    def python_schema(self) -> CoreSchema:
        def check(v: str) -> str:
            try:
                steps = parse_instance_identifier(v)
                return canonical_instance_identifier(steps)
            except ValueError as e:
                raise invalid(f"{v!r} is not an instance-identifier: {e}") from None
        return _after(core_schema.str_schema(strict=True), check)

    def from_text(self, text: str, ns: Namespaces) -> Any:
        return _map_prefixes(text.strip(), lambda p: _need(ns.module_of_prefix(p), p))

    def to_text(self, v: Any, ns: Namespaces) -> str:
        try:
            steps = parse_instance_identifier(v)
        except ValueError:  # not validated: write what is there
            return _map_prefixes(v, ns.prefix_of_module)
        return canonical_instance_identifier(steps, ns.prefix_of_module)


def _need(module: str | None, prefix: str) -> str:
    if module is None:
        raise invalid(f"prefix {prefix!r} is not declared")
    return module


_QNAME_IN_PATH = re.compile(r"""('[^']*'|"[^"]*")|([A-Za-z_][\w.-]*):(?=[A-Za-z_])""")


def _map_prefixes(path: str, fn: Callable[[str], str]) -> str:
    """Rewrite every ``prefix:`` of a node name in a path, leaving quoted values alone."""
    return _QNAME_IN_PATH.sub(lambda m: m.group(1) or f"{fn(m.group(2))}:", path)


class UnionType(YangType):
    json_serializes = True

    @cached_property
    def members(self) -> list[YangType]:
        return [make_type(t, self.schema, self.module) for t in self.d["types"]]

    @property
    def annotation(self) -> str:  # type: ignore[override]
        names = list(dict.fromkeys(m.annotation for m in self.members))
        return " | ".join(names)

    def python_schema(self) -> CoreSchema:
        return core_schema.union_schema([m.python_schema() for m in self.members], mode="left_to_right")

    def json_schema(self) -> CoreSchema:
        return core_schema.union_schema([m.json_schema() for m in self.members], mode="left_to_right")

    def member_for(self, v: Any) -> YangType:
        for m in self.members:
            try:
                m.validate(v)
                return m
            except ValueError:
                continue
        return self.members[0]

    def to_json(self, v: Any) -> Any:
        return self.member_for(v).to_json(v)

    def from_text(self, text: str, ns: Namespaces) -> Any:
        """RFC 7950 §9.12: the first member type whose lexical space and restrictions fit."""
        for m in self.members:
            try:
                return m.validate(m.from_text(text, ns))
            except ValueError:
                continue
        raise invalid(f"{text!r} matches no member of the union")

    def to_text(self, v: Any, ns: Namespaces) -> str:
        return self.member_for(v).to_text(v, ns)


def make_type(d: Mapping[str, Any], schema: Schema, module: str) -> YangType:
    """The YangType for descriptor ``d``; a leafref is its target's type (string if unknown)."""
    b = d["b"]
    if b == "leafref":
        target = d.get("target")
        return make_type(target, schema, module) if target else StringType({"b": "string"}, schema, module)
    cls = _BY_BASE.get(b)
    if cls is None:
        raise ValueError(f"unknown YANG base type {b!r}")
    return cls(d, schema, module)


_BY_BASE: dict[str, type[YangType]] = {
    **dict.fromkeys(INT_BOUNDS, IntType),
    "decimal64": DecimalType, "string": StringType, "boolean": BoolType, "empty": EmptyType,
    "enumeration": EnumType, "bits": BitsType, "binary": BinaryType,
    "identityref": IdentityrefType, "instance-identifier": InstanceIdType, "union": UnionType,
}


class ModuleNames:
    """Namespaces for the RFC 7951 forms: prefixes *are* module names."""

    def module_of_prefix(self, prefix: str | None) -> str | None:
        return prefix

    def prefix_of_module(self, module: str) -> str:
        return module


MODULE_NAMES = ModuleNames()
