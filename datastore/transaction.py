"""The commit transaction as backends see it, and the phase runner.

A participant (a southbound driver) gets a read-only ``Transaction``: the old and new
running trees, the frozen change list, and scratch space of its own. Phases:
validate → prepare → commit, with abort only for participants whose prepare succeeded, and
revert, in reverse order, for those already committed when a later one fails (FRR northbound
``prepare_ok``; Clixon ``revert``). The participant whose own phase failed gets neither abort
nor revert from here: it must leave its backend as it was before raising (a commit that
stopped halfway undoes its own partial work; southbound/driver.py does this for drivers). Only validate and prepare may refuse; the datastore
commit happens only after every participant committed. The datastore never imports a
driver: the server hands participants to ``Datastores`` at start.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from models.bundle import YangModel
from models.errors import YangdError, YangdErrors

log = logging.getLogger("yangd.transaction")


@dataclass(frozen=True)
class Transaction:
    id: int  # the commit id this transaction will become
    source: YangModel  # running before
    target: YangModel  # running after
    changes: tuple[Any, ...]  # datastore.edit.Change, deletes and creates in edit order
    user: str = ""
    scratch: dict[str, Any] = field(default_factory=dict)  # participant name → its state


class Participant(Protocol):
    name: str

    def validate(self, tx: Transaction) -> None: ...

    def prepare(self, tx: Transaction) -> None: ...

    def commit(self, tx: Transaction) -> None: ...

    def abort(self, tx: Transaction) -> None: ...

    def revert(self, tx: Transaction) -> None: ...


def _refusal(p: Participant, phase: str, e: Exception) -> YangdErrors:
    if isinstance(e, YangdErrors):
        errs = [YangdError(x.tag if x.tag != "invalid-value" else "operation-failed",
                           f"{p.name}: {x.message}", x.path, x.app_tag, x.type,
                           {**x.info, "driver": p.name, "phase": phase}) for x in e.errors]
        return YangdErrors(errs)
    return YangdErrors.one("operation-failed", f"{p.name}: {phase} failed: {e}", driver=p.name,
                           phase=phase)


def run_transaction(participants: Sequence[Participant], tx: Transaction) -> None:
    """Run the phases; raises YangdErrors (and leaves every backend as it was) on refusal."""
    for p in participants:
        try:
            p.validate(tx)
        except Exception as e:
            raise _refusal(p, "validate", e) from None
    prepared: list[Participant] = []
    for p in participants:
        try:
            p.prepare(tx)
        except Exception as e:
            _abort(prepared, tx)
            raise _refusal(p, "prepare", e) from None
        prepared.append(p)
    committed: list[Participant] = []
    for p in participants:
        try:
            p.commit(tx)
        except Exception as e:
            _abort([q for q in prepared if q not in committed and q is not p], tx)
            for q in reversed(committed):
                try:
                    q.revert(tx)
                except Exception:  # a revert failing is a bug to log, not to hide the cause
                    log.exception("participant %s failed to revert transaction %d", q.name, tx.id)
            raise _refusal(p, "commit", e) from None
        committed.append(p)


def revert_all(participants: Sequence[Participant], tx: Transaction) -> None:
    """Undo a fully committed transaction (the datastore could not persist it)."""
    for q in reversed(participants):
        try:
            q.revert(tx)
        except Exception:
            log.exception("participant %s failed to revert transaction %d", q.name, tx.id)


def _abort(prepared: Sequence[Participant], tx: Transaction) -> None:
    for q in reversed(prepared):
        try:
            q.abort(tx)
        except Exception:
            log.exception("participant %s failed to abort transaction %d", q.name, tx.id)
