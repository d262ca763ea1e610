"""Running nft(8) inside the driver's network namespace.

Every call is one ``nft`` process started with ``ip netns exec NS`` (the host's namespace only
when the operator configured it): its netlink socket, and so the ruleset it reads or
replaces, is the namespace's. A ruleset goes in on stdin as one ``-f`` transaction, which the
kernel applies all or nothing; ``-c`` runs the same transaction in check mode (the kernel
validates every object, then aborts it). The python3-nftables binding is not used: it is not
in the virtualenv, and a process per transaction costs a few milliseconds against the
hundreds that parsing and loading 10k rules take.
"""

from __future__ import annotations

import re
import shutil
import subprocess

from southbound._acl_render import TABLE
from southbound.errors import DriverError

_ERR = re.compile(r"^(?:/dev/stdin|-):(\d+):\d+(?:-\d+)?: Error: (.*)$", re.M)


class NftError(DriverError):
    """nft refused a ruleset: its message and, when it names one, the line of the input."""

    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.line = line


class Nft:
    def __init__(self, namespace: str, *, create: bool, timeout: float):
        self.ns = namespace
        self.timeout = timeout
        nft = shutil.which("nft") or shutil.which("nft", path="/usr/sbin:/sbin")
        if nft is None:
            raise DriverError("nft (the nftables package) is not installed")
        self.prefix = ["ip", "netns", "exec", namespace, nft] if namespace else [nft]
        if namespace:
            names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
            if namespace not in {ln.split()[0] for ln in names.splitlines() if ln.strip()}:
                if not create:
                    raise DriverError(f"network namespace {namespace} does not exist")
                self._run(["ip", "netns", "add", namespace], None)

    def _run(self, argv: list[str], stdin: str | None) -> str:
        try:
            p = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            raise DriverError(f"{' '.join(argv[-3:])} did not finish within {self.timeout:g} s") from None
        except OSError as e:
            raise DriverError(f"{argv[0]}: {e.strerror or e}") from None
        if p.returncode != 0:
            err = p.stderr.strip()
            m = _ERR.search(err)
            if m is not None:
                raise NftError(m.group(2).strip(), int(m.group(1)))
            raise NftError(err.splitlines()[0] if err else f"exit status {p.returncode}", None)
        return p.stdout

    def check(self, text: str) -> None:
        """Refuse (NftError) what loading ``text`` would refuse; changes nothing."""
        self._run([*self.prefix, "-c", "-f", "-"], text)

    def load(self, text: str) -> None:
        """Apply ``text`` as one transaction (all of it or, on an error, none of it)."""
        self._run([*self.prefix, "-f", "-"], text)

    def table(self) -> str | None:
        """``nft list table inet yangd`` (text); None if there is no such table."""
        try:
            return self._run([*self.prefix, "list", "table", "inet", TABLE], None)
        except NftError as e:
            if "No such file or directory" in e.message:
                return None
            raise

    def ruleset(self) -> str:
        return self._run([*self.prefix, "list", "ruleset"], None)
