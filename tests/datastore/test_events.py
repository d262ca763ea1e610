"""The event log (datastore/events.py) on SQLite and PostgreSQL: appends are durable across a
reopen, replay windows are inclusive and ordered, pruning by count and by age."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from datastore.events import EventLog
from datastore.store import Store

T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def content(i: int) -> str:
    return f'<ev xmlns="urn:test">{i}</ev>'


def at(i: int) -> datetime:
    return T0 + timedelta(seconds=i)


def test_durable_across_reopen(db_url: str) -> None:
    with Store.open(db_url) as store:
        log = EventLog(store)
        ev = log.append(content(1), at(1))
        assert (ev.time, ev.stream, ev.content) == (at(1), "NETCONF", content(1))
        log.append_many([(at(2), "NETCONF", content(2)), (at(3), "other", content(3))])
    with Store.open(db_url) as store:
        log = EventLog(store)
        got = log.replay()
        assert [(e.time, e.content) for e in got] == [(at(1), content(1)), (at(2), content(2))]
        assert all(e.time.tzinfo is not None for e in got)
        assert [e.content for e in log.replay(stream="other")] == [content(3)]
        assert log.count() == 3 and log.count("NETCONF") == 2
        assert log.oldest() == at(1)


def test_replay_window(db_url: str) -> None:
    with Store.open(db_url) as store:
        log = EventLog(store)
        log.append_many([(at(i), "NETCONF", content(i)) for i in range(10)])
        assert [e.content for e in log.replay(at(3), at(5))] == [content(i) for i in (3, 4, 5)]
        assert [e.content for e in log.replay(at(8))] == [content(8), content(9)]
        assert [e.content for e in log.replay(stop=at(1))] == [content(0), content(1)]
        assert log.replay(at(20)) == []
        assert len(log.replay(limit=4)) == 4
        # the same eventTime twice: kept in append order
        log.append_many([(at(20), "NETCONF", "<a/>"), (at(20), "NETCONF", "<b/>")])
        assert [e.content for e in log.replay(at(20))] == ["<a/>", "<b/>"]
        # any time zone in, UTC out
        cet = at(3).astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin"))
        assert [e.time for e in log.replay(cet, cet)] == [at(3)]


def test_prune_by_count(db_url: str) -> None:
    with Store.open(db_url) as store:
        log = EventLog(store, keep=5, prune_every=1000)
        log.append_many([(at(i), "NETCONF", content(i)) for i in range(12)])
        assert log.count() == 12
        assert log.prune() == 7
        assert [e.content for e in log.replay()] == [content(i) for i in range(7, 12)]
        assert log.prune() == 0


def test_prunes_by_itself(db_url: str) -> None:
    with Store.open(db_url) as store:
        log = EventLog(store, keep=3, prune_every=4)
        for i in range(10):
            log.append(content(i), at(i))
        assert log.count() <= 3 + 4
        log.prune()
        assert [e.content for e in log.replay()] == [content(i) for i in (7, 8, 9)]


def test_prune_by_age(db_url: str) -> None:
    with Store.open(db_url) as store:
        log = EventLog(store, max_age=timedelta(seconds=5))
        log.append_many([(at(i), "NETCONF", content(i)) for i in range(10)])
        assert log.prune(now=at(10)) == 5
        assert log.oldest() == at(5)


def test_refuses_bad_input(tmp_path: object) -> None:
    with Store.open(f"sqlite:///{tmp_path}/e.db") as store:
        with pytest.raises(ValueError):
            EventLog(store, keep=0)
        with pytest.raises(ValueError):
            EventLog(store).append("<x/>", datetime(2025, 1, 1))  # naive
