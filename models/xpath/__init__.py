"""XPath 1.0 for YANG (RFC 7950 §6.4, §10): parsing, names and printing.

Why a package: YANG uses XPath in ``must``/``when`` statements, leafref
paths and instance-identifier values, and each use needs the same pieces --
a faithful XPath 1.0 parser (:func:`parse`), a function-library check
(:func:`check_functions`), rewriting of prefixes to module names
(:func:`resolve_prefixes`), printing (:func:`unparse`) and parsers for the
two restricted path forms (:mod:`models.xpath.paths`).  Evaluation over data
trees over :mod:`models.instance` cursors is :func:`evaluate`.
"""

from models.xpath.ast import (
    AXES,
    DESCENDANT_OR_SELF,
    NODE_TYPES,
    PARENT,
    SELF,
    BinaryOp,
    Expr,
    FilterPath,
    FunctionCall,
    Literal,
    NameTest,
    Negate,
    NodeTest,
    NodeTypeTest,
    Number,
    Path,
    Step,
    VarRef,
    iter_nodes,
)
from models.xpath.errors import XPathSyntaxError
from models.xpath.evaluate import (
    XPathEvalError,
    XPathValue,
    boolean,
    deref_node,
    eval_expr,
    evaluate,
    number,
    string,
)
from models.xpath.functions import FUNCTIONS, FunctionSpec, check_functions
from models.xpath.lexer import Token, TokenKind, tokenize
from models.xpath.names import format_literal, resolve_prefixes, unparse
from models.xpath.parser import parse
from models.xpath.paths import (
    InstanceStep,
    KeyPredicate,
    LeafrefPath,
    PathKey,
    PathNode,
    format_instance_identifier,
    parse_instance_identifier,
    parse_leafref_path,
)

__all__ = [
    "AXES",
    "DESCENDANT_OR_SELF",
    "FUNCTIONS",
    "NODE_TYPES",
    "PARENT",
    "SELF",
    "BinaryOp",
    "Expr",
    "FilterPath",
    "FunctionCall",
    "FunctionSpec",
    "InstanceStep",
    "KeyPredicate",
    "LeafrefPath",
    "Literal",
    "NameTest",
    "Negate",
    "NodeTest",
    "NodeTypeTest",
    "Number",
    "Path",
    "PathKey",
    "PathNode",
    "Step",
    "Token",
    "TokenKind",
    "VarRef",
    "XPathEvalError",
    "XPathSyntaxError",
    "XPathValue",
    "boolean",
    "check_functions",
    "deref_node",
    "eval_expr",
    "evaluate",
    "format_instance_identifier",
    "format_literal",
    "iter_nodes",
    "number",
    "parse",
    "parse_instance_identifier",
    "parse_leafref_path",
    "resolve_prefixes",
    "string",
    "tokenize",
    "unparse",
]
