"""A driver for tests of the transaction machinery: fails or hangs on request, records calls.

    d = FlakyDriver(bundle, "flaky", fail_in=Phase.COMMIT)
    d = FlakyDriver(bundle, "slow", hang_in=Phase.PREPARE, timeout=0.2)
    ...
    assert d.calls == ["validate", "prepare", "abort"]
    d.release()  # let a hanging phase return

``log`` is shared between drivers when passed in, to assert ordering across them
(``["a:commit", "b:commit", "a:revert"]``). Configuration lives on the instance, never in
module globals.

In a yangd process (``[drivers.NAME] kind = "flaky"``, for end-to-end tests) it is told what
to do through a ``control`` file, read at every phase: ``fail PHASE`` fails that phase,
``hang PHASE`` blocks it until the file says something else (at most 30 s), anything else
(or no file) lets every phase succeed.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from models.bundle import Bundle, YangModel
from southbound.driver import Driver, DriverTx, Phase
from southbound.errors import DriverError

IF = "/ietf-interfaces:interfaces/interface"
HANG_MAX = 30.0


class FlakyDriver(Driver):
    kind = "flaky"

    def __init__(self, bundle: Bundle, name: str = "flaky", *, owns: tuple[str, ...] = (IF,),
                 fail_in: Phase | None = None, hang_in: Phase | None = None,
                 timeout: float | None = None, log: list[str] | None = None,
                 error_path: str | None = None, control: Path | None = None):
        self.owns = owns
        super().__init__(bundle, name=name, timeout=timeout)
        self.fail_in = fail_in
        self.hang_in = hang_in
        self.error_path = error_path
        self.control = control
        self.calls: list[str] = []
        self.log = log if log is not None else []
        self.synced = 0
        self._release = threading.Event()

    def release(self) -> None:
        self._release.set()

    def _told(self) -> tuple[str, str]:
        """(verb, phase) from the control file; ("", "") without one."""
        if self.control is None:
            return "", ""
        try:
            words = self.control.read_text().split()
        except OSError:
            return "", ""
        return (words[0], words[1]) if len(words) == 2 else ("", "")

    def _hook(self, phase: Phase, d: DriverTx) -> None:
        self.calls.append(str(phase))
        self.log.append(f"{self.name}:{phase}")
        if phase == self.hang_in:
            self._release.wait(HANG_MAX)
        deadline = time.monotonic() + HANG_MAX
        while self._told() == ("hang", phase) and time.monotonic() < deadline:
            time.sleep(0.02)
        if phase == self.fail_in or self._told() == ("fail", phase):
            raise DriverError(f"told to fail in {phase}", self.error_path)

    def on_validate(self, d: DriverTx) -> None:
        self._hook(Phase.VALIDATE, d)

    def on_prepare(self, d: DriverTx) -> None:
        self._hook(Phase.PREPARE, d)

    def on_commit(self, d: DriverTx) -> None:
        self._hook(Phase.COMMIT, d)

    def on_abort(self, d: DriverTx) -> None:
        self.calls.append(str(Phase.ABORT))
        self.log.append(f"{self.name}:{Phase.ABORT}")

    def on_full_sync(self, running: YangModel) -> None:
        self.synced += 1
        self.log.append(f"{self.name}:{Phase.SYNC}")
        if self._told() == ("fail", Phase.SYNC):
            raise DriverError(f"told to fail in {Phase.SYNC}", self.error_path)

    def on_revert(self, d: DriverTx) -> None:
        self.calls.append(str(Phase.REVERT))
        self.log.append(f"{self.name}:{Phase.REVERT}")
