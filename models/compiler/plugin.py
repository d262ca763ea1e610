"""pyang plugin: ``pyang -f pydantic -o DIR MODULES…`` writes a generated package to DIR.

A thin class over the pure functions in build.py / emit.py (pyang's plugin hooks only).
"""

from __future__ import annotations

import optparse
from typing import Any

from pyang import error, plugin

from models.compiler.build import build_schema
from models.compiler.package import write_package


def pyang_plugin_init() -> None:
    plugin.register_plugin(PydanticPlugin())


class PydanticPlugin(plugin.PyangPlugin):  # type: ignore[misc]
    def add_output_format(self, fmts: dict[str, Any]) -> None:
        self.multiple_modules = True
        fmts["pydantic"] = self

    def add_opts(self, optparser: optparse.OptionParser) -> None:
        group = optparser.add_option_group("pydantic output specific options")
        group.add_option("--pydantic-dir", dest="pydantic_dir", default=None,
                         help="write the generated package into this directory")

    def setup_fmt(self, ctx: Any) -> None:
        ctx.implicit_errors = False

    def emit(self, ctx: Any, modules: list[Any], fd: Any) -> None:
        out = getattr(ctx.opts, "pydantic_dir", None)
        if not out:
            raise error.EmitError("-f pydantic needs --pydantic-dir DIR")
        schema = build_schema(ctx, [m for m in modules if m.keyword == "module"])
        files = write_package(schema, out)
        fd.write(f"wrote {len(files)} files to {out}\n")
