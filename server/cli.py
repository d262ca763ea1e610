"""The ``yangd`` command line (typer + rich).

Offline tools work on the shipped module set (models/generated, compiled from yang/) plus any
``--module`` the operator adds; extra modules are compiled at start and cached by the hash of
their sources. ``serve`` runs the daemon.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from models.compiler.frontend import CompileError
from server.client import commands as client
from server.client.commands import examples

app = typer.Typer(
    help="yangd: a model-driven configuration and management plane (YANG, NETCONF, RESTCONF).",
    epilog=examples("yangd serve --config /etc/yangd/yangd.toml",
                    "yangd load interfaces.json && yangd diff",
                    "yangd commit --confirmed 5 -m 'new uplink'",
                    "yangd confirm && yangd commits",
                    "yangd rollback 3",
                    "yangd COMMAND --help"),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # help paragraphs reflow to the terminal's width
)
out = Console(width=None if sys.stdout.isatty() else 200)

REPO = Path(__file__).resolve().parents[1]
YANG_DIR = REPO / "yang"
SEARCH = [YANG_DIR / "ietf", YANG_DIR / "iana", YANG_DIR / "yangd"]
FEATURES = YANG_DIR / "features.toml"
DEFAULT_DATA_DIR = Path.home() / ".local" / "share" / "yangd"

ModuleOpt = Annotated[
    list[Path] | None,
    typer.Option("--module", "-m", help="Extra YANG module to load (imports are searched beside it)."),
]
DataDirOpt = Annotated[Path, typer.Option("--data-dir", help="Where yangd keeps its state and caches.")]


def _fail(msg: str, code: int = 1) -> None:
    sys.stderr.write(msg.rstrip("\n") + "\n")  # plain: messages are parsed by editors and scripts
    raise typer.Exit(code)


def load_package(modules: list[Path] | None, data_dir: Path) -> ModuleType:
    """The generated package for the shipped set, or for shipped + extra modules (cached)."""
    if not modules:
        import models.generated as pkg

        return pkg
    from models.compiler.package import cached_compile

    files = [p for p in sorted(YANG_DIR.rglob("*.yang"))] + [Path(m) for m in modules]
    search = [*SEARCH, *{Path(m).parent for m in modules}]
    from models.compiler.package import features_file

    try:
        return cached_compile(files, data_dir / "schema-cache", search, features_file(FEATURES))
    except CompileError as e:
        _fail("\n".join(e.messages), 2)
        raise  # unreachable: _fail raises


@app.command(epilog=examples("yangd serve", "yangd serve --config /etc/yangd/yangd.toml",
                             "yangd serve --data-dir /tmp/y --netconf-listen 127.0.0.1:2830 --restconf-listen :9443",
                             "yangd serve --module ./acme-router.yang"))
def serve(
    config: Annotated[Path | None, typer.Option("--config", help="TOML configuration file.")] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Where yangd keeps its state.")] = None,
    module: ModuleOpt = None,
    netconf_listen: Annotated[str | None, typer.Option("--netconf-listen", help="ADDR:PORT (default 127.0.0.1:8830).")] = None,
    restconf_listen: Annotated[str | None, typer.Option("--restconf-listen", help="ADDR:PORT (default 127.0.0.1:8443).")] = None,
    netconf_tls_listen: Annotated[str | None, typer.Option("--netconf-tls-listen", help="ADDR:PORT: also NETCONF over TLS (RFC 7589, default port 6513); needs netconf_tls_client_ca and netconf_tls_cert_to_name in --config.")] = None,
) -> None:
    """Start yangd: NETCONF over SSH and RESTCONF over HTTPS. Stops cleanly on SIGTERM.

    Settings come from the defaults, then the TOML file (--config; `yangd config check FILE`
    checks one; the annotated example is server/yangd.example.toml), then these options. The
    RESTCONF listener also serves GET /metrics (Prometheus) and GET /health. Logs go to
    stderr, as JSON lines with log_json = true. Exit status: 0 after SIGTERM/SIGINT, 1 cannot
    listen or open the database, 2 bad configuration.
    """
    import asyncio
    import gc
    import logging
    import signal

    from datastore.datastores import Datastores
    from datastore.store import Store, StoreError
    from server.config import ConfigError, load_config
    from server.netconf import serve as serve_netconf
    from server.restconf import serve as serve_restconf

    try:
        cfg = load_config(config, data_dir=data_dir, netconf_listen=netconf_listen,
                          restconf_listen=restconf_listen, netconf_tls_listen=netconf_tls_listen,
                          modules=module or None)
    except ConfigError as e:
        _fail(str(e), 2)
        return
    from server.logs import setup_logging

    setup_logging(cfg.log_level, cfg.log_json)
    log = logging.getLogger("yangd")
    pkg = load_package(cfg.modules or None, cfg.data_dir)
    try:
        ds = Datastores(pkg.B, Store.open(cfg.db_url))
    except StoreError as e:
        _fail(str(e), 1)
        return
    from southbound.manager import drivers_from_config

    try:
        drivers = drivers_from_config(cfg, pkg.B)
    except ValueError as e:
        ds.close()
        _fail(str(e), 2)
        return
    from server.metrics import metrics_for

    metrics_for(ds).watch_drivers(drivers.drivers)  # phase latencies from the first full sync on
    ds.nacm.configure(cfg.nacm_groups, cfg.nacm_recovery_users, factory_open=False)  # RFC 8341 (datastore/nacm.py)
    drivers.attach(ds)  # start + full sync; a failing driver is logged and re-synced on its next commit
    if drivers.drivers:
        log.info("southbound drivers: %s", ", ".join(d.name for d in drivers.drivers))
    from server.users import users_for

    if not users_for(ds, cfg).names():  # users.json imported, bootstrap users created
        log.warning("no users yet: nobody can log in. Add one with `yangd users add NAME --data-dir %s`",
                    cfg.data_dir)

    # The trees are large and long-lived: freeze what start-up loaded so full collections do
    # not walk it again, and collect less often (a 100k-entry running made 1-2 s pauses).
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)

    async def run() -> None:
        srv = await serve_netconf(cfg, ds)
        try:
            rc = await serve_restconf(cfg, ds)
        except BaseException:
            await srv.close()
            raise
        log.info("NETCONF over SSH on %s, RESTCONF over HTTPS on %s (certificate %s)",
                 cfg.netconf_listen, cfg.restconf_listen, rc.cert)
        ds.cluster.netconf, ds.cluster.restconf = cfg.netconf_listen, cfg.restconf_listen
        from datastore.cluster import ClusterState

        ds.add_state_provider(ClusterState(ds.cluster))  # /yangd-cluster:cluster
        log.info("instance %s; drives %s", ds.cluster.id, ", ".join(drivers.led) or "no driver")
        log.info("data in %s, %d modules, head commit %d", cfg.data_dir,
                 sum(1 for m in pkg.B.schema.modules.values() if m.implemented), ds.head)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("shutting down")
        await rc.close()
        await srv.close()

    try:
        asyncio.run(run())
    except OSError as e:  # e.g. the address is in use
        _fail(f"cannot listen (NETCONF {cfg.netconf_listen}, RESTCONF {cfg.restconf_listen}): {e}", 1)
    except ConfigError as e:  # e.g. a certificate file that does not load
        _fail(str(e), 2)
    finally:
        drivers.close()
        ds.close()


users_app = typer.Typer(help="Manage yangd logins (ietf-system users, via DATA_DIR/users.json).",
                        no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("add", epilog=examples(
    "yangd users add admin", "echo \"$PW\" | yangd users add ops --password-stdin",
    "yangd users add robot --ssh-key ~/.ssh/id_ed25519.pub --data-dir /var/lib/yangd"))
def users_add(
    name: Annotated[str, typer.Argument(help="Login name.")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
    ssh_key: Annotated[Path | None, typer.Option("--ssh-key", help="OpenSSH public key file to authorize.")] = None,
    data_dir: DataDirOpt = DEFAULT_DATA_DIR,
) -> None:
    """Create or update a login without a running server (a running one picks it up)."""
    import getpass

    from server.config import ConfigError, add_user

    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
        if not password:
            _fail("empty password on stdin", 2)
    elif ssh_key is None:
        password = getpass.getpass(f"password for {name}: ")
    try:
        add_user(data_dir, name, password, ssh_key)
    except ConfigError as e:
        _fail(str(e), 2)
    out.print(f"user {name} saved in {data_dir / 'users.json'}: yangd adds it to its ietf-system "
              "users at once if it is running on that data dir, else at its next start",
              markup=False, highlight=False)


@app.command(epilog=examples("yangd schema", "yangd schema --module ./acme-router.yang"))
def schema(
    data_dir: DataDirOpt = DEFAULT_DATA_DIR,
    module: ModuleOpt = None,
) -> None:
    """Compile the schema (shipped modules + --module) and print the modules yangd serves."""
    pkg = load_package(module, data_dir)
    sch = pkg.B.schema
    table = Table(title="yangd: loaded schema", show_lines=False)
    for col in ("module", "revision", "namespace", "implemented", "features"):
        table.add_column(col, overflow="fold")
    for m in sorted(sch.modules.values(), key=lambda m: m.name):
        table.add_row(m.name, m.revision or "", m.namespace, "yes" if m.implemented else "import",
                      " ".join(m.features))
    out.print(table)
    out.print(
        f"{sum(1 for m in sch.modules.values() if m.implemented)} modules implemented, "
        f"{len(sch.identities)} identities, {len(sch.rpcs)} rpcs, {len(sch.notifications)} notifications.",
        markup=False, highlight=False,
    )


@app.command("compile", epilog=examples(
    "yangd compile", "yangd compile acme.yang -o /tmp/acme_pkg -p yang/ietf",
    "yangd compile acme.yang -F acme:fast-reroute,ecmp --deviation acme-dev.yang -o out"))
def compile_cmd(
    paths: Annotated[list[Path] | None, typer.Argument(help="YANG files or directories (default: yang/).")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Package directory to write.")] = REPO / "models" / "generated",
    search_path: Annotated[list[Path] | None, typer.Option("--path", "-p", help="Import search directory.")] = None,
    feature: Annotated[list[str] | None, typer.Option("--feature", "-F", help="MODULE:FEATURE[,FEATURE] to enable (others off for that module); MODULE: for none.")] = None,
    deviation: Annotated[list[Path] | None, typer.Option("--deviation", help="Deviation module to apply.")] = None,
) -> None:
    """Compile YANG modules into a pydantic package (default: yang/ into models/generated)."""
    from models.compiler.package import compile_package, features_file

    features: dict[str, list[str]] | None = None if paths else features_file(FEATURES)
    for f in feature or []:
        mod, _, names = f.partition(":")
        features = features or {}
        features.setdefault(mod, []).extend(n for n in names.split(",") if n)
    srcs = paths or [YANG_DIR]
    search = list(search_path or []) + (SEARCH if not paths else [])
    try:
        schema = compile_package(srcs, output, search, features, deviation or [])
    except CompileError as e:
        _fail("\n".join(e.messages), 2)
        return
    n = sum(1 for m in schema.modules.values() if m.implemented)
    out.print(f"compiled {n} modules into {output}", markup=False, highlight=False)


@app.command(epilog=examples("yangd tree ietf-interfaces", "yangd tree ietf-interfaces ietf-ip",
                             "yangd tree acme-router --module ./acme-router.yang"))
def tree(
    modules: Annotated[list[str], typer.Argument(help="Module names to print.")],
    data_dir: DataDirOpt = DEFAULT_DATA_DIR,
    module: ModuleOpt = None,
) -> None:
    """Print the schema of loaded modules as an RFC 8340 tree diagram."""
    from models.tree import tree_lines

    schema = load_package(module, data_dir).B.schema
    for i, name in enumerate(modules):
        if name not in schema.modules or not schema.modules[name].implemented:
            _fail(f"no implemented module {name!r}; loaded: {', '.join(sorted(schema.modules))}")
        if i:
            print()
        for line in tree_lines(schema, name):
            print(line)


def _decode(pkg: ModuleType, path: Path) -> Any:
    from models.codec.errors import InstanceError
    from models.codec.json import decode_json
    from models.codec.xml import decode_xml

    data = path.read_bytes() if str(path) != "-" else sys.stdin.buffer.read()
    try:
        if data.lstrip()[:1] == b"<":
            return decode_xml(pkg.Root, data)
        return decode_json(pkg.Root, data)
    except InstanceError as e:
        _fail(str(e), 1)


@app.command(epilog=examples("yangd validate interfaces.xml", "yangd validate config.json --module acme.yang",
                             "cat data.json | yangd validate -", "yangd validate --source candidate   # on the server"))
def validate(
    datafile: Annotated[Path | None, typer.Argument(help="Instance document, XML or JSON ('-' for stdin); none: ask the running yangd.")] = None,
    data_dir: DataDirOpt = DEFAULT_DATA_DIR,
    module: ModuleOpt = None,
    source: Annotated[str, typer.Option("--source", help="Without DATAFILE: the datastore the server validates.")] = "candidate",
    as_json: client.JsonOpt = False,
    host: client.HostOpt = None, port: client.PortOpt = None, user: client.UserOpt = None,
    password: client.PasswordOpt = None, key: client.KeyOpt = None, profile: client.ProfileOpt = None,
) -> None:
    """Check an instance document against the schema; errors name the instance path.

    Offline with DATAFILE (exit 1 and one `PATH: message` line per error when invalid).
    Without it, the running yangd validates a datastore (--source, default candidate: what
    commit would check, RFC 6241 §8.6).
    """
    if datafile is None:
        client.validate_remote(client.Conn(host, port, user, password, key, profile, as_json), source)
        return
    _decode(load_package(module, data_dir), datafile)
    out.print("valid", markup=False, highlight=False)


@app.command(epilog=examples("yangd convert interfaces.xml --to json > interfaces.json",
                             "yangd convert interfaces.json --to xml", "yangd show | yangd convert - --to xml"))
def convert(
    datafile: Annotated[Path, typer.Argument(help="Instance document, XML or JSON ('-' for stdin).")],
    to: Annotated[str, typer.Option("--to", help="json or xml")] = "json",
    data_dir: DataDirOpt = DEFAULT_DATA_DIR,
    module: ModuleOpt = None,
) -> None:
    """Convert an instance document between XML (RFC 7950) and JSON (RFC 7951).

    The document is validated against the schema on the way (errors as for validate), so
    the output is always valid; converting back gives the same data.
    """
    from models.codec.json import encode_json
    from models.codec.xml import encode_xml, to_bytes

    obj = _decode(load_package(module, data_dir), datafile)
    if to == "json":
        print(encode_json(obj, indent=2))
    elif to == "xml":
        sys.stdout.write(to_bytes(encode_xml(obj), pretty=True).decode())
    else:
        _fail("--to takes json or xml", 2)


config_app = typer.Typer(help="Check yangd configuration files.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@config_app.command("check", epilog=examples("yangd config check /etc/yangd/yangd.toml",
                                             "yangd config check yangd.toml --json"))
def config_check(
    file: Annotated[Path, typer.Argument(help="The TOML file `yangd serve --config` would read.")],
    as_json: client.JsonOpt = False,
) -> None:
    """Check a configuration file as `yangd serve --config FILE` would, without starting.

    Unknown keys, wrong types, bad listen addresses, unknown driver kinds or driver keys,
    missing module files: each is named with its key (exit 2). A good file prints the
    settings it results in (exit 0).
    """
    from server.config import ConfigError, load_config
    from southbound.manager import drivers_from_config

    try:
        cfg = load_config(file)
        missing = [str(m) for m in cfg.modules if not m.is_file()]
        if missing:
            raise ConfigError(f"modules: no such file: {', '.join(missing)}")
        import models.generated as g

        drivers_from_config(cfg, g.B).close()  # builds each driver, touches no backend
    except (ConfigError, ValueError) as e:
        client.fail(f"{file}: {e}", 2, as_json)
    doc = {"file": str(file), "valid": True, "netconf_listen": cfg.netconf_listen,
           "netconf_tls_listen": cfg.netconf_tls_listen or "off",
           "restconf_listen": f"{cfg.restconf_scheme}://{cfg.restconf_listen}",
           "data_dir": str(cfg.data_dir), "database": cfg.db_url, "modules": [str(m) for m in cfg.modules],
           "drivers": list(cfg.drivers), "log_level": cfg.log_level, "log_json": cfg.log_json,
           "metrics_auth": cfg.metrics_auth}
    if as_json:
        import json

        print(json.dumps(doc, indent=2))
        return
    out.print(f"{file}: valid", markup=False, highlight=False)
    for k, v in doc.items():
        if k not in ("file", "valid"):
            out.print(f"  {k} = {v}", markup=False, highlight=False)


client.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
