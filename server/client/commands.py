"""The client commands of ``yangd`` (show, load, edit, diff, commit, confirm, …), registered
on the typer application by ``register``.

Each command opens one NETCONF session (server/client/netconf.py) with the profile from its
options, the environment or the profile file (server/client/profile.py), does its work and
closes the session. Output is for people (rich) unless ``--json`` asks for one JSON document
on stdout for scripts. Exit status: 0 done, 1 refused by the server (rpc-error), 2 bad
input, 3 cannot connect.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from lxml import etree
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from server.client import pending
from server.client.netconf import NC, Client, ClientError
from server.client.profile import Profile, ProfileError, resolve
from server.client.render import diff_lines, pretty_xml, set_lines, to_json, to_tree, xpath_of

__all__ = ["examples", "parse_duration", "register"]

out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False)

DATASTORES = ("running", "candidate", "startup", "operational")
PANEL = "Connection (else YANGD_* environment, else ~/.config/yangd/profile.toml)"

HostOpt = Annotated[str | None, typer.Option("--host", "-H", help="yangd host.", rich_help_panel=PANEL)]
PortOpt = Annotated[int | None, typer.Option("--port", "-P", help="NETCONF (SSH) port, default 8830.", rich_help_panel=PANEL)]
UserOpt = Annotated[str | None, typer.Option("--user", "-u", help="Login name.", rich_help_panel=PANEL)]
PasswordOpt = Annotated[str | None, typer.Option("--password", help="Password (prefer YANGD_PASSWORD or a key).", rich_help_panel=PANEL)]
KeyOpt = Annotated[Path | None, typer.Option("--key", help="SSH private key file.", rich_help_panel=PANEL)]
ProfileOpt = Annotated[str | None, typer.Option("--profile", help="Profile [NAME] of the profile file.", rich_help_panel=PANEL)]
JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON document on stdout, for scripts.")]


def examples(*lines: str) -> str:
    """A help epilog (markdown): 'Examples' and one command per line, verbatim."""
    return "**Examples**\n\n```\n" + "\n".join(lines) + "\n```"


class Conn:
    """The connection options of one command."""

    def __init__(self, host: str | None, port: int | None, user: str | None, password: str | None,
                 key: Path | None, profile: str | None, as_json: bool):
        self.options = {"host": host, "port": port, "user": user, "password": password,
                        "key": str(key) if key else None, "profile": profile}
        self.json = as_json
        self._profile: Profile | None = None

    @property
    def profile(self) -> Profile:
        if self._profile is None:
            try:
                self._profile = resolve(self.options)
            except ProfileError as e:
                fail(str(e), 2, self.json)
        return self._profile

    @contextmanager
    def client(self) -> Iterator[Client]:
        try:
            with Client(self.profile) as c:
                yield c
        except ClientError as e:
            report(e, self.json)

    def emit(self, doc: Any, human: Callable[[], None]) -> None:
        if self.json:
            sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        else:
            human()


def fail(msg: str, code: int = 1, as_json: bool = False) -> NoReturn:
    if as_json:
        sys.stdout.write(json.dumps({"error": msg}) + "\n")
    sys.stderr.write(f"yangd: {msg}\n")
    raise typer.Exit(code)


def report(e: ClientError, as_json: bool) -> NoReturn:
    if as_json:
        sys.stdout.write(json.dumps({"error": e.message, "errors": [
            {"error-tag": x.tag, "error-path": x.path, "error-message": x.message,
             "error-app-tag": x.app_tag} for x in e.errors]}, indent=2) + "\n")
    if e.errors:
        for x in e.errors:
            sys.stderr.write(f"yangd: {x.line()}\n")
    else:
        sys.stderr.write(f"yangd: {e.message}\n")
    raise typer.Exit(e.code)


def parse_duration(text: str) -> int:
    """``--confirmed`` values: minutes by default (``10``), or with a unit: ``30s``, ``5m``,
    ``1h``. NETCONF's confirm-timeout is seconds (RFC 6241 §8.4.5.1)."""
    t = text.strip().lower()
    unit = {"s": 1, "m": 60, "h": 3600}.get(t[-1:], None)
    number = t[:-1] if unit else t
    if not number.isdigit() or int(number) == 0:
        raise typer.BadParameter(f"{text!r}: give minutes (10) or a duration (30s, 5m, 1h)")
    return int(number) * (unit or 60)


def _bundle() -> Any:
    import models.generated as g

    return g


# ---- show ----------------------------------------------------------------------------------

def show(
    datastore: Annotated[str, typer.Argument(help="running, candidate, startup or operational.")] = "running",
    path: Annotated[str | None, typer.Argument(help="XPath (/module:node/...) or RESTCONF path (module:node/list=key).")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="xml, json, tree or set.")] = "json",
    as_json: JsonOpt = False,
    host: HostOpt = None, port: PortOpt = None, user: UserOpt = None, password: PasswordOpt = None,
    key: KeyOpt = None, profile: ProfileOpt = None,
) -> None:
    """Show a datastore of the running yangd, or the part PATH selects.

    running, candidate and startup are read with get-config; operational (configuration in
    use plus state, RFC 8342) with get-data. PATH is an XPath filter (RFC 6241 §8.9) with
    module names as prefixes, or a RESTCONF data path (RFC 8040 §3.5.3). Formats: json (RFC
    7951, the default), xml (RFC 7950), tree (indented, coloured), set (one line per value).
    """
    conn = Conn(host, port, user, password, key, profile, as_json)
    if datastore not in DATASTORES:
        if path is not None:
            fail(f"unknown datastore {datastore!r} (one of {', '.join(DATASTORES)})", 2, as_json)
        datastore, path = "running", datastore
    if as_json:
        fmt = "json"
    if fmt not in ("xml", "json", "tree", "set"):
        fail(f"--format takes xml, json, tree or set, not {fmt!r}", 2, as_json)
    g = _bundle()
    xpath = nsmap = None
    if path:
        try:
            xpath, nsmap = xpath_of(g.B, path)
        except ValueError as e:
            fail(f"bad path {path!r}: {e}", 2, as_json)
    with conn.client() as c:
        data = c.get(datastore, xpath, nsmap)
    if fmt == "xml":
        sys.stdout.write(pretty_xml(data) + "\n" if len(data) else "")
    elif fmt == "json":
        try:
            doc = to_json(g.Root, data)
        except ValueError as e:  # data of modules this client does not know: use --format xml
            fail(f"cannot decode the reply with the local schema: {e}", 1, as_json)
        if as_json or not out.is_terminal:
            sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        else:
            out.print_json(data=doc)
    elif fmt == "tree":
        out.print(to_tree(g.B, data, f"{datastore}{' ' + path if path else ''}"))
    else:
        for line in set_lines(g.B, data):
            out.print(line, markup=False)


# ---- load / edit -----------------------------------------------------------------------------

def _config_element(text: bytes, name: str) -> Any:
    """A ``<config>`` element from an XML or JSON document (checked against the schema)."""
    from models.codec.errors import InstanceError
    from models.codec.json import decode_json
    from models.codec.xml import encode_xml

    if text.lstrip()[:1] == b"<":
        try:
            root = etree.fromstring(text, etree.XMLParser(resolve_entities=False, no_network=True,
                                                          huge_tree=True))
        except etree.XMLSyntaxError as e:
            raise ValueError(f"{name}: {e}") from None
        local = etree.QName(root).localname
        config = etree.Element(f"{{{NC}}}config", nsmap={None: NC})
        if local in ("config", "data"):  # a wrapper, as get-config answers or edit-config takes
            config.extend(list(root))
        else:
            config.append(root)
        return config
    try:
        obj = decode_json(_bundle().Root, text)
    except InstanceError as e:
        raise ValueError(f"{name}: {e}") from None
    return encode_xml(obj, wrapper="config")


@contextmanager
def _working(what: str) -> Iterator[Callable[[str], None]]:
    """A spinner with the elapsed time on a terminal (stderr); nothing otherwise."""
    if not err.is_terminal:
        yield lambda _msg: None
        return
    start = time.monotonic()
    with err.status(what) as st:
        stop = threading.Event()
        label = [what]

        def tick() -> None:
            while not stop.wait(0.2):
                st.update(f"{label[0]} ({time.monotonic() - start:.1f} s)")

        t = threading.Thread(target=tick, daemon=True)
        t.start()

        def update(msg: str) -> None:
            label[0] = msg
            st.update(msg)

        try:
            yield update
        finally:
            stop.set()
            t.join()


def load(
    file: Annotated[Path, typer.Argument(help="XML (RFC 7950) or JSON (RFC 7951) file, '-' for stdin.")],
    merge: Annotated[bool, typer.Option("--merge", help="Merge into the candidate (the default).")] = False,
    replace: Annotated[bool, typer.Option("--replace", help="Replace the top-level nodes the file has.")] = False,
    override: Annotated[bool, typer.Option("--override", help="The file becomes the whole candidate.")] = False,
    as_json: JsonOpt = False,
    host: HostOpt = None, port: PortOpt = None, user: UserOpt = None, password: PasswordOpt = None,
    key: KeyOpt = None, profile: ProfileOpt = None,
) -> None:
    """Load a configuration file into the candidate datastore (commit makes it running).

    --merge (default) is edit-config with default-operation merge (nc:operation attributes
    in an XML file are honoured); --replace replaces each top-level node the file has
    (operation replace on it, RFC 6241 §7.2) and leaves the other top-level nodes alone;
    --override is copy-config: the file becomes the whole candidate. The file may be a bare top-level node, or wrapped in <config> or
    <data>. JSON files are checked against the schema before anything is sent.
    """
    conn = Conn(host, port, user, password, key, profile, as_json)
    if sum((merge, replace, override)) > 1:
        fail("give one of --merge, --replace, --override", 2, as_json)
    mode = "replace" if replace else "override" if override else "merge"
    with _working(f"reading {file}") as update:
        try:
            text = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
        except OSError as e:
            fail(f"cannot read {file}: {e}", 2, as_json)
        update(f"checking {file} ({len(text) / 1e6:.1f} MB)")
        try:
            config = _config_element(text, str(file))
        except ValueError as e:
            fail(str(e), 2, as_json)
        with conn.client() as c:
            update(f"loading {len(text) / 1e6:.1f} MB into the candidate ({mode})")
            try:
                c.edit(config, mode)
            except ClientError as e:
                report(e, as_json)
    conn.emit({"loaded": str(file), "mode": mode, "bytes": len(text)},
              lambda: out.print(f"loaded {file} into the candidate ({mode}); "
                                "`yangd diff` shows the change, `yangd commit` applies it",
                                markup=False))


def edit(
    fmt: Annotated[str, typer.Option("--format", "-f", help="json or xml.")] = "json",
    as_json: JsonOpt = False,
    host: HostOpt = None, port: PortOpt = None, user: UserOpt = None, password: PasswordOpt = None,
    key: KeyOpt = None, profile: ProfileOpt = None,
) -> None:
    """Edit the candidate in $VISUAL / $EDITOR; what you save becomes the candidate.

    The candidate is fetched, opened in the editor, and loaded back with --override
    semantics (copy-config) if it changed. Nothing is committed.
    """
    conn = Conn(host, port, user, password, key, profile, as_json)
    if fmt not in ("json", "xml"):
        fail("--format takes json or xml", 2, as_json)
    g = _bundle()
    with conn.client() as c:
        data = c.get("candidate")
    if fmt == "json":
        before = json.dumps(to_json(g.Root, data), indent=2, ensure_ascii=False) + "\n"
    else:
        etree.indent(data, space="  ")
        before = etree.tostring(data, encoding="unicode") + "\n"
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.TemporaryDirectory(prefix="yangd-edit-") as tmp:
        path = Path(tmp) / f"candidate.{fmt}"
        path.write_text(before, encoding="utf-8")
        while True:
            rc = subprocess.call([*shlex.split(editor), str(path)])
            if rc != 0:
                fail(f"{editor} exited with status {rc}; nothing loaded", 1, as_json)
            after = path.read_text(encoding="utf-8")
            if after == before:
                conn.emit({"changed": False}, lambda: out.print("no change", markup=False))
                return
            try:
                config = _config_element(after.encode(), str(path))
                with conn.client() as c:
                    c.edit(config, "override")
                break
            except (ValueError, ClientError) as e:
                msg = e.message if isinstance(e, ClientError) else str(e)
                if as_json or not sys.stdin.isatty() or not typer.confirm(f"{msg}\nedit again?", default=True):
                    if isinstance(e, ClientError):
                        report(e, as_json)
                    fail(msg, 2, as_json)
    conn.emit({"changed": True}, lambda: out.print(
        "candidate updated; `yangd diff` shows the change, `yangd commit` applies it", markup=False))


# ---- diff ----------------------------------------------------------------------------------

def diff(
    a: Annotated[str, typer.Argument(help="From: a commit id, running or candidate.")] = "running",
    b: Annotated[str, typer.Argument(help="To: a commit id, running or candidate.")] = "candidate",
    as_json: JsonOpt = False,
    host: HostOpt = None, port: PortOpt = None, user: UserOpt = None, password: PasswordOpt = None,
    key: KeyOpt = None, profile: ProfileOpt = None,
) -> None:
    """Show what changes from A to B (default: running to candidate, what commit would do).

    Uses the yangd-commits compare RPC; commit ids come from `yangd commits`. Lines read as
    `set` commands: + a new value, ~ a changed value (its new setting), - a deleted node.
    """
    conn = Conn(host, port, user, password, key, profile, as_json)
    g = _bundle()
    with conn.client() as c:
        changes = c.compare(a, b)
    lines = diff_lines(g.B, changes)
    doc = [{"operation": ch["operation"], "path": ch["path"],
            "set": [ln for _s, ln in diff_lines(g.B, [ch])]} for ch in changes]

    def human() -> None:
        if not lines:
            out.print(f"no changes from {a} to {b}", markup=False)
        styles = {"+": "green", "-": "red", "~": "yellow"}
        for sign, line in lines:
            out.print(f"{sign} {line}", style=styles[sign], markup=False)

    conn.emit(doc, human)


# ---- commit / confirm / cancel / discard / rollback ------------------------------------------

def _head(c: Client) -> tuple[int, dict[str, Any] | None]:
    head, rows = c.commits()
    return head, next((r for r in rows if r["id"] == head), None)


def commit(
    confirmed: Annotated[str | None, typer.Option("--confirmed", metavar="MIN", help="Confirmed commit: rolled back after MIN minutes (or 30s, 5m, 1h) unless `yangd confirm`.")] = None,
    comment: Annotated[str | None, typer.Option("--comment", "-m", help="Why: kept in the commit history.")] = None,
    label: Annotated[str | None, typer.Option("--label", help="A unique name for the commit (rollback LABEL).")] = None,
    persist_id: Annotated[str | None, typer.Option("--persist-id", help="Of a pending confirmed commit made elsewhere.")] = None,
    as_json: JsonOpt = False,
    host: HostOpt = None, port: PortOpt = None, user: UserOpt = None, password: PasswordOpt = None,
    key: KeyOpt = None, profile: ProfileOpt = None,
) -> None:
    """Commit the candidate to running (validated, pushed to every driver, recorded).

    With --confirmed, yangd rolls the commit back by itself unless it is confirmed in time
    (`yangd confirm`, or another `yangd commit`) — a safety net for changes that may cut
    you off. The confirmed commit outlives this command: it is persistent (RFC 6241
    :confirmed-commit:1.1), its persist-id kept in ~/.local/state/yangd/ for your next
    commit/confirm/cancel-commit. A commit while one is pending confirms it.
    """
    conn = Conn(host, port, user, password, key, profile, as_json)
    seconds = parse_duration(confirmed) if confirmed is not None else None
    p = conn.profile
    known = pending.recall(p)
    pid = persist_id or (known["persist-id"] if known else None)
    with conn.client() as c:
        before, _ = _head(c)
        persist = (pid or pending.new_id()) if seconds is not None else None
        try:
            c.commit(confirm_timeout=seconds, persist=persist, persist_id=pid, comment=comment,
                     label=label)
        except ClientError as e:
            stale = pid is not None and persist_id is None and any(
                x.tag == "invalid-value" and "no confirmed commit" in x.message for x in e.errors)
            if not stale:
                report(e, as_json)
            pending.forget(p)  # it timed out or was cancelled meanwhile
            err.print("note: the earlier confirmed commit is no longer pending (rolled back)",
                      markup=False)
            pid = None
            persist = pending.new_id() if seconds is not None else None
            try:
                c.commit(confirm_timeout=seconds, persist=persist, comment=comment, label=label)
            except ClientError as e2:
                report(e2, as_json)
        head, row = _head(c)
    doc: dict[str, Any] = {"commit": head if head != before else None, "previous": before,
                           "confirmed": seconds is None}
    if seconds is not None:
        deadline = datetime.now(UTC) + timedelta(seconds=seconds)
        assert persist is not None
        pending.remember(p, persist, deadline.isoformat())
        doc["rollback-at"] = deadline.isoformat().replace("+00:00", "Z")
        doc["persist-id"] = persist
    elif pid is not None:
        pending.forget(p)
        doc["confirmed-pending"] = True

    def human() -> None:
        if head == before:
            out.print("nothing to commit: the candidate equals running" if pid is None else
                      f"confirmed commit {head}", markup=False)
        else:
            what = f"commit {head}"
            if row and row.get("label"):
                what += f" ({row['label']})"
            out.print(f"{what} done", markup=False)
        if seconds is not None:
            local = datetime.now().astimezone() + timedelta(seconds=seconds)
            out.print(f"confirmed commit pending: rolls back at {local:%H:%M:%S} (in {seconds} s) "
                      "unless `yangd confirm`", style="yellow", markup=False)

    conn.emit(doc, human)


def confirm(
    persist_id: Annotated[str | None, typer.Option("--persist-id", help="Of a confirmed commit made elsewhere.")] = None,
    as_json: JsonOpt = False,
    host: HostOpt = None, port: PortOpt = None, user: UserOpt = None, password: PasswordOpt = None,
    key: KeyOpt = None, profile: ProfileOpt = None,
) -> None:
    """Confirm the pending confirmed commit, so that it stays (RFC 6241 §8.4).

    This is a commit: candidate changes made since are committed with it.
    """
    conn = Conn(host, port, user, password, key, profile, as_json)
    known = pending.recall(conn.profile)
    pid = persist_id or (known["persist-id"] if known else None)
    if pid is None:
        fail("no confirmed commit of yours is pending (give --persist-id for one made elsewhere)",
             1, as_json)
    with conn.client() as c:
        try:
            c.commit(persist_id=pid)
        except ClientError as e:
            if any("no confirmed commit" in x.message for x in e.errors):
                pending.forget(conn.profile)
                fail("the confirmed commit is no longer pending: it was rolled back", 1, as_json)
            report(e, as_json)
        head, _ = _head(c)
    pending.forget(conn.profile)
    conn.emit({"confirmed": head}, lambda: out.print(f"commit {head} confirmed", markup=False))


def cancel_commit(
    persist_id: Annotated[str | None, typer.Option("--persist-id", help="Of a confirmed commit made elsewhere.")] = None,
    as_json: JsonOpt = False,
    host: HostOpt = None, port: PortOpt = None, user: UserOpt = None, password: PasswordOpt = None,
    key: KeyOpt = None, profile: ProfileOpt = None,
) -> None:
    """Roll the pending confirmed commit back now (RFC 6241 §8.4.4.1 cancel-commit)."""
    conn = Conn(host, port, user, password, key, profile, as_json)
    known = pending.recall(conn.profile)
    pid = persist_id or (known["persist-id"] if known else None)
    with conn.client() as c:
        try:
            c.cancel_commit(pid)
        except ClientError as e:
            report(e, as_json)
        head, _ = _head(c)
    pending.forget(conn.profile)
    conn.emit({"commit": head}, lambda: out.print(f"rolled back as commit {head}", markup=False))


def discard(
    as_json: JsonOpt = False,
    host: HostOpt = None, port: PortOpt = None, user: UserOpt = None, password: PasswordOpt = None,
    key: KeyOpt = None, profile: ProfileOpt = None,
) -> None:
    """Throw the candidate's uncommitted changes away (discard-changes, RFC 6241 §8.3.4.2)."""
    conn = Conn(host, port, user, password, key, profile, as_json)
    with conn.client() as c:
        c.discard()
    conn.emit({"discarded": True}, lambda: out.print("candidate reset to running", markup=False))


def rollback(
    target: Annotated[str, typer.Argument(help="Commit id or label to return to (0: empty).")],
    comment: Annotated[str | None, typer.Option("--comment", "-m", help="Comment of the new commit.")] = None,
    as_json: JsonOpt = False,
    host: HostOpt = None, port: PortOpt = None, user: UserOpt = None, password: PasswordOpt = None,
    key: KeyOpt = None, profile: ProfileOpt = None,
) -> None:
    """Make running what it was right after commit TARGET, as a new commit.

    History is never rewritten: the rollback is itself a commit (yangd-commits rollback).
    """
    conn = Conn(host, port, user, password, key, profile, as_json)
    with conn.client() as c:
        head = c.rollback(target, comment)
    conn.emit({"commit": head, "target": target},
              lambda: out.print(f"running is now as after commit "
                                f"{target if target.isdigit() else repr(target)}: commit {head}",
                                markup=False))


# ---- history, sessions, locks ----------------------------------------------------------------

def _when(t: str | None) -> str:
    if not t:
        return ""
    try:
        return datetime.fromisoformat(t.replace("Z", "+00:00")).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return t


def commits(
    limit: Annotated[int | None, typer.Option("--limit", "-n", help="Show the newest N.")] = None,
    as_json: JsonOpt = False,
    host: HostOpt = None, port: PortOpt = None, user: UserOpt = None, password: PasswordOpt = None,
    key: KeyOpt = None, profile: ProfileOpt = None,
) -> None:
    """The commit history, newest first: id, time, user, transport, comment, label, size.

    Unconfirmed commits (a pending confirmed commit) are marked. Sizes are of the stored
    change set. Ids are what `yangd diff A B` and `yangd rollback ID` take.
    """
    conn = Conn(host, port, user, password, key, profile, as_json)
    with conn.client() as c:
        head, rows = c.commits()
    rows = rows[:limit] if limit else rows

    def human() -> None:
        t = Table(title=f"commits (head {head})", title_justify="left")
        for col, just in (("id", "right"), ("time", "left"), ("user", "left"),
                          ("transport", "left"), ("comment", "left"), ("label", "left"),
                          ("size", "right")):
            t.add_column(col, justify=just, overflow="fold")  # type: ignore[arg-type]
        for r in rows:
            ident = str(r["id"]) + ("" if r["confirmed"] else " ?")
            t.add_row(escape(ident), _when(r["time"]), escape(r["user"] or ""),
                      escape(r["transport"] or ""), escape(r["comment"] or ""),
                      escape(r["label"] or ""), f"{r['size']} B",
                      style="bold" if r["id"] == head else None)
        out.print(t)
        if any(not r["confirmed"] for r in rows):
            out.print("?: a confirmed commit not confirmed yet", style="yellow", markup=False)

    conn.emit({"head": head, "commits": rows}, human)


def sessions(
    as_json: JsonOpt = False,
    host: HostOpt = None, port: PortOpt = None, user: UserOpt = None, password: PasswordOpt = None,
    key: KeyOpt = None, profile: ProfileOpt = None,
) -> None:
    """The NETCONF sessions of the server and the locks they hold.

    From ietf-netconf-monitoring (RFC 6022). This command's own session is marked *.
    """
    conn = Conn(host, port, user, password, key, profile, as_json)
    with conn.client() as c:
        rows, locks, me = c.sessions(), c.locks(), c.session_id
    held: dict[int, list[str]] = {}
    for ds, sid in sorted(locks.items()):
        held.setdefault(sid, []).append(ds)
    for r in rows:
        r["locks"] = held.get(r["session-id"], [])
        r["self"] = r["session-id"] == me

    def human() -> None:
        t = Table(title="NETCONF sessions", title_justify="left")
        for col in ("id", "user", "transport", "from", "since", "rpcs", "errors", "locks"):
            t.add_column(col, justify="right" if col in ("id", "rpcs", "errors") else "left")
        for r in rows:
            t.add_row(f"{'*' if r['self'] else ''}{r['session-id']}", escape(r["username"] or ""),
                      escape(r["transport"]), escape(r["source-host"] or ""), _when(r["login-time"]),
                      str(r["in-rpcs"]), str(r["out-rpc-errors"]), ", ".join(r["locks"]))
        out.print(t)

    conn.emit(rows, human)


def kill_session(
    session_id: Annotated[int, typer.Argument(help="The session to end (see `yangd sessions`).")],
    as_json: JsonOpt = False,
    host: HostOpt = None, port: PortOpt = None, user: UserOpt = None, password: PasswordOpt = None,
    key: KeyOpt = None, profile: ProfileOpt = None,
) -> None:
    """End another NETCONF session (RFC 6241 §7.9).

    Its locks are released and its non-persistent confirmed commit is rolled back.
    """
    conn = Conn(host, port, user, password, key, profile, as_json)
    with conn.client() as c:
        c.kill_session(session_id)
    conn.emit({"killed": session_id}, lambda: out.print(f"session {session_id} ended", markup=False))


def lock(
    datastore: Annotated[str, typer.Argument(help="running, candidate or startup.")] = "candidate",
    hold: Annotated[float | None, typer.Option("--for", metavar="SECONDS", help="Release after this long (default: until Ctrl-C).")] = None,
    as_json: JsonOpt = False,
    host: HostOpt = None, port: PortOpt = None, user: UserOpt = None, password: PasswordOpt = None,
    key: KeyOpt = None, profile: ProfileOpt = None,
) -> None:
    """Lock a datastore and hold the lock while this command runs (RFC 6241 §7.5).

    NETCONF locks belong to a session and end with it, so the command stays in the
    foreground: Ctrl-C (or SIGTERM, or --for) releases the lock. `yangd unlock` from
    another terminal ends the holding session.
    """
    conn = Conn(host, port, user, password, key, profile, as_json)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_a: stop.set())
    with conn.client() as c:
        c.lock(datastore)
        doc = {"locked": datastore, "session-id": c.session_id}
        conn.emit(doc, lambda: out.print(
            f"{datastore} locked by session {c.session_id}; Ctrl-C releases it", markup=False))
        sys.stdout.flush()
        deadline = time.monotonic() + hold if hold is not None else None
        while not stop.wait(0.3):
            if deadline is not None and time.monotonic() >= deadline:
                break
            if not c.alive():
                fail(f"session {doc['session-id']} ended: the lock on {datastore} is gone",
                     1, as_json)
        c.unlock(datastore)
    if not as_json:
        out.print(f"{datastore} unlocked", markup=False)


def unlock(
    datastore: Annotated[str, typer.Argument(help="running, candidate or startup.")] = "candidate",
    force: Annotated[bool, typer.Option("--force", help="Also when another user holds the lock.")] = False,
    as_json: JsonOpt = False,
    host: HostOpt = None, port: PortOpt = None, user: UserOpt = None, password: PasswordOpt = None,
    key: KeyOpt = None, profile: ProfileOpt = None,
) -> None:
    """Release a lock by ending the session that holds it.

    For a `yangd lock` left running in another terminal: its session is ended with
    kill-session. Only sessions of your own user, unless --force.
    """
    conn = Conn(host, port, user, password, key, profile, as_json)
    with conn.client() as c:
        holder = c.locks().get(datastore)
        if holder is None:
            conn.emit({"unlocked": datastore, "session-id": None},
                      lambda: out.print(f"{datastore} is not locked", markup=False))
            return
        owner = next((s["username"] for s in c.sessions() if s["session-id"] == holder), None)
        if owner != conn.profile.user and not force:
            fail(f"{datastore} is locked by session {holder} of {owner or 'an unknown user'} "
                 "(--force ends it anyway)", 1, as_json)
        c.kill_session(holder)
    conn.emit({"unlocked": datastore, "session-id": holder},
              lambda: out.print(f"{datastore} unlocked: session {holder} ended", markup=False))


def drivers(
    as_json: JsonOpt = False,
    host: HostOpt = None, port: PortOpt = None, user: UserOpt = None, password: PasswordOpt = None,
    key: KeyOpt = None, profile: ProfileOpt = None,
) -> None:
    """The southbound drivers: sync status, last full sync, drift, last error.

    From yangd-southbound's state in the operational datastore. A driver that is not
    in-sync is repaired by its next commit, or now by `yangd resync`.
    """
    conn = Conn(host, port, user, password, key, profile, as_json)
    with conn.client() as c:
        rows = c.drivers()

    def human() -> None:
        if not rows:
            out.print("no southbound drivers configured: yangd touches no backend", markup=False)
            return
        t = Table(title="southbound drivers", title_justify="left")
        for col in ("driver", "kind", "status", "last full sync", "drift", "last error"):
            t.add_column(col, overflow="fold")
        colours = {"in-sync": "green", "needs-sync": "yellow", "failed": "red"}
        for r in rows:
            status = r["status"] or ""
            t.add_row(escape(r["name"] or ""), escape(r["kind"] or ""),
                      f"[{colours.get(status, 'default')}]{escape(status)}[/]", _when(r["last-sync"]),
                      "yes" if r["in-drift"] else "", escape(r["last-error"] or ""))
        out.print(t)

    conn.emit(rows, human)


def resync(
    driver: Annotated[str | None, typer.Argument(help="The driver to resync (default: all).")] = None,
    as_json: JsonOpt = False,
    host: HostOpt = None, port: PortOpt = None, user: UserOpt = None, password: PasswordOpt = None,
    key: KeyOpt = None, profile: ProfileOpt = None,
) -> None:
    """Converge backends to running now (a full sync; yangd-southbound resync).

    Removes from each backend what running does not have in the subtrees its driver owns,
    and reports how many differences were repaired. A full sync of a large configuration
    takes a while: a spinner shows it is running.
    """
    conn = Conn(host, port, user, password, key, profile, as_json)
    with conn.client() as c, _working(f"full sync of {driver or 'every driver'}"):
        done = c.resync(driver)

    def human() -> None:
        for d in done:
            n = d["repaired"]
            out.print(f"{d['name']}: in sync" + (f", {n} differences repaired" if n is not None else ""),
                      markup=False)
        if not done:
            out.print("no drivers to resync", markup=False)

    conn.emit(done, human)


def validate_remote(conn: Conn, source: str) -> None:
    """``yangd validate`` without a file: the server validates a datastore."""
    with conn.client() as c:
        c.validate(source)
    conn.emit({"valid": source}, lambda: out.print(f"{source} is valid", markup=False))


# ---- registration ----------------------------------------------------------------------------

_EXAMPLES: dict[str, tuple[str, ...]] = {
    "show": ("yangd show", "yangd show candidate --format set",
             "yangd show running ietf-interfaces:interfaces/interface=eth0",
             "yangd show operational \"/ietf-interfaces:interfaces/interface[name='eth0']\" -f tree",
             "yangd show startup --format xml > startup.xml"),
    "load": ("yangd load interfaces.json", "yangd load full.xml --override",
             "yangd load - --replace < routes.xml"),
    "edit": ("EDITOR=nano yangd edit", "yangd edit --format xml"),
    "diff": ("yangd diff", "yangd diff 3 5", "yangd diff 4 running", "yangd diff --json | jq ."),
    "commit": ("yangd commit -m 'eth0 up'", "yangd commit --confirmed 5 -m 'risky'",
               "yangd commit --confirmed 30s", "yangd commit --label before-upgrade"),
    "confirm": ("yangd confirm",),
    "cancel-commit": ("yangd cancel-commit",),
    "discard": ("yangd discard",),
    "rollback": ("yangd rollback 3", "yangd rollback before-upgrade -m 'undo the upgrade'"),
    "commits": ("yangd commits", "yangd commits -n 5", "yangd commits --json | jq '.commits[0]'"),
    "sessions": ("yangd sessions", "yangd sessions --json"),
    "kill-session": ("yangd kill-session 7",),
    "lock": ("yangd lock running", "yangd lock candidate --for 600"),
    "unlock": ("yangd unlock running",),
    "drivers": ("yangd drivers", "yangd drivers --json"),
    "resync": ("yangd resync", "yangd resync kernel"),
}


def register(app: typer.Typer) -> None:
    """Add the client commands to the ``yangd`` application."""
    for name, fn in (("show", show), ("load", load), ("edit", edit), ("diff", diff),
                     ("commit", commit), ("confirm", confirm), ("cancel-commit", cancel_commit),
                     ("discard", discard), ("rollback", rollback), ("commits", commits),
                     ("sessions", sessions), ("kill-session", kill_session), ("lock", lock),
                     ("unlock", unlock), ("drivers", drivers), ("resync", resync)):
        app.command(name, epilog=examples(*_EXAMPLES[name]), rich_help_panel="Talk to a running yangd")(fn)
