"""A compiled set of YANG modules, loaded: its Schema plus the pydantic classes generated for it.

Generated packages (models/generated/*, or a start-up compile of user modules) do
``B = Bundle.load(<dir>/schema.json)`` and declare fields as
``Annotated[int, B.leaf("/mod:a/b")]``. The markers returned here implement
``__get_pydantic_core_schema__`` from the schema node, so every restriction lives in one place
(models/types.py) and the generated source stays declarative.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import PydanticCustomError, core_schema

from models.schema import Schema, SchemaNode
from models.types import YangType, make_type
from models.yanglist import DuplicateKeyError, YangList


class YangModel(BaseModel):
    """Base of every generated class: immutable, exact member names, built on first use."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        populate_by_name=True,
        defer_build=True,
        protected_namespaces=(),
        arbitrary_types_allowed=True,
        serialize_by_alias=True,
    )
    __yang__: ClassVar[SchemaNode]

    def replace(self, **changes: Any) -> Self:
        """A copy with fields changed (by Python name), without re-validation.

        What ``model_copy(update=changes)`` does for a frozen, extra-forbidding model with no
        private attributes, in a third of its time: edits and NACM read pruning copy one
        object per changed entry, tens of thousands per large commit or read.
        """
        new = _new_object(type(self))
        d = self.__dict__.copy()
        d.update(changes)
        _set(new, "__dict__", d)
        _set(new, "__pydantic_fields_set__", self.__pydantic_fields_set__.union(changes))
        _set(new, "__pydantic_extra__", None)
        _set(new, "__pydantic_private__", None)
        return new

    @model_validator(mode="after")
    def _share_fields_set(self) -> Self:
        # pydantic gives every instance its own set of the names set in it (a 5-name set is
        # 728 bytes, more than the rest of a typical list entry). The models are frozen, so
        # pydantic never adds to it in place (model_copy copies it first): instances with
        # the same names share one set, a bounded number of distinct sets in all.
        fs = self.__pydantic_fields_set__
        key = frozenset(fs)
        shared = _FIELDS_SETS.get(key)
        if shared is None:
            if len(_FIELDS_SETS) >= _MAX_FIELDS_SETS:
                return self
            shared = _FIELDS_SETS.setdefault(key, fs)
        _set(self, "__pydantic_fields_set__", shared)
        return self


_FIELDS_SETS: dict[frozenset[str], set[str]] = {}
_MAX_FIELDS_SETS = 4096


_set = object.__setattr__
_new_object = object.__new__


def check_choices(self: YangModel) -> YangModel:
    """RFC 7950 §7.9: data from at most one case of each choice."""
    d = self.__dict__
    for choice, cases in type(self).__yang_choices__:  # type: ignore[attr-defined]
        hit: list[str] = []
        for case, fields in cases:
            for f in fields:
                if d[f] is not None:
                    hit.append(case)
                    break
        if len(hit) > 1:
            raise PydanticCustomError(
                "bad-element", "nodes from more than one case of choice {choice}: {cases}",
                {"choice": choice, "cases": ", ".join(hit)})
    return self


choices_validator = model_validator(mode="after")(check_choices)


class _Marker(ABC):
    """Annotated metadata that builds a field's core schema from its schema node."""

    def __init__(self, bundle: Bundle, path: str):
        self.bundle = bundle
        self.path = path

    @abstractmethod
    def __get_pydantic_core_schema__(self, source: Any, handler: Callable[[Any], Any]) -> Any:
        """The field's pydantic core schema, built from its schema node."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r})"


class _LeafMarker(_Marker):
    def __get_pydantic_core_schema__(self, source: Any, handler: Callable[[Any], Any]) -> Any:
        return self.bundle.type_of(self.bundle.node(self.path)).core_schema


class _LeafListMarker(_Marker):
    def __get_pydantic_core_schema__(self, source: Any, handler: Callable[[Any], Any]) -> Any:
        node = self.bundle.node(self.path)
        t = self.bundle.type_of(node)
        unique = node.config

        def build(items: list[Any]) -> tuple[Any, ...]:
            if unique and len(set(map(_hashable, items))) != len(items):
                raise PydanticCustomError("data-not-unique", "duplicate leaf-list value")
            return tuple(items)
        return core_schema.no_info_after_validator_function(
            build, core_schema.list_schema(t.core_schema, strict=False),
            serialization=core_schema.plain_serializer_function_ser_schema(
                list, return_schema=core_schema.list_schema(t.core_schema)))


def _hashable(v: Any) -> Any:
    return tuple(sorted(v)) if isinstance(v, frozenset) else v


class _ListMarker(_Marker):
    def __get_pydantic_core_schema__(self, source: Any, handler: Callable[[Any], Any]) -> Any:
        node = self.bundle.node(self.path)
        entry_cls = node.cls
        keys = tuple(node.child(node.module, k).py_name for k in node.keys)  # type: ignore[union-attr]
        entry_schema = handler.generate_schema(entry_cls)  # type: ignore[attr-defined]

        def build(entries: list[Any]) -> YangList[Any]:
            try:
                return YangList(entries, keys)
            except DuplicateKeyError as e:
                raise PydanticCustomError(
                    "data-not-unique", "duplicate entry for key {key}", {"key": repr(e.key)}) from None

        from_list = core_schema.no_info_after_validator_function(
            build, core_schema.list_schema(entry_schema))
        return core_schema.json_or_python_schema(
            json_schema=from_list,
            python_schema=core_schema.union_schema(
                [core_schema.is_instance_schema(YangList), from_list], mode="left_to_right"),
            serialization=core_schema.plain_serializer_function_ser_schema(
                list, return_schema=core_schema.list_schema(entry_schema)),
        )


class _AnyMarker(_Marker):
    def __get_pydantic_core_schema__(self, source: Any, handler: Callable[[Any], Any]) -> Any:
        return core_schema.any_schema()


class Bundle:
    """One loaded schema with lookup helpers and per-leaf type objects."""

    _loaded: ClassVar[dict[str, Bundle]] = {}

    def __init__(self, schema: Schema):
        self.schema = schema
        self._types: dict[int, YangType] = {}
        self._by_path: dict[str, SchemaNode] = {}
        self.root_cls: type[YangModel] | None = None

    @classmethod
    def load(cls, path: str | Path) -> Bundle:
        key = str(Path(path).resolve())
        b = cls._loaded.get(key)
        if b is None:
            b = cls(Schema.load(key))
            cls._loaded[key] = b
        return b

    def node(self, path: str) -> SchemaNode:
        n = self._by_path.get(path)
        if n is None:
            n = self.schema.find(path) if path != "/" else self.schema.root
            self._by_path[path] = n
        return n

    def type_of(self, node: SchemaNode) -> YangType:
        t = self._types.get(id(node))
        if t is None:
            assert node.type is not None, node.path()
            t = make_type(node.type, self.schema, node.module)
            self._types[id(node)] = t
        return t

    # markers used by generated code
    def leaf(self, path: str) -> _LeafMarker:
        return _LeafMarker(self, path)

    def leaf_list(self, path: str) -> _LeafListMarker:
        return _LeafListMarker(self, path)

    def list(self, path: str) -> _ListMarker:
        return _ListMarker(self, path)

    def any(self, path: str) -> _AnyMarker:
        return _AnyMarker(self, path)

    def bind(self, path: str, cls: type[YangModel]) -> type[YangModel]:
        """Attach a generated class to its schema node (and the node to the class)."""
        node = self.node(path)
        node.cls = cls
        cls.__yang__ = node
        if path == "/":
            self.root_cls = cls
        return cls
