"""Notifications end to end through ncclient (RFC 5277 create-subscription, RFC 6470 events):
config-change reaching another session, session start/end, confirmed-commit events,
replay with startTime/stopTime, filters, errors, interleave; and the event log behind it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from lxml import etree
from ncclient.operations import RPCError

from tests.server.conftest import Running, connect
from tests.server.helpers import IF, iface, names

NOTIF = "urn:ietf:params:xml:ns:netconf:notification:1.0"
NM = "urn:ietf:params:xml:ns:netmod:notification"
NCN = "urn:ietf:params:xml:ns:yang:ietf-netconf-notifications"
NOTIFICATION_CAP = "urn:ietf:params:netconf:capability:notification:1.0"
INTERLEAVE_CAP = "urn:ietf:params:netconf:capability:interleave:1.0"


def take(m: Any, timeout: float = 5) -> tuple[str, Any] | None:
    """The next notification: (local name of its content, content element)."""
    n = m.take_notification(block=True, timeout=timeout)
    if n is None:
        return None
    root = etree.fromstring(n.notification_xml.encode())
    assert root.tag == f"{{{NOTIF}}}notification"
    assert root[0].tag == f"{{{NOTIF}}}eventTime"
    datetime.fromisoformat(root[0].text)  # an RFC 3339 timestamp
    content = root[1]
    return etree.QName(content).localname, content


def take_named(m: Any, name: str, timeout: float = 10) -> Any:
    """Skip notifications until one named ``name`` (fails after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        got = take(m, left)
        if got is not None and got[0] == name:
            return got[1]
    pytest.fail(f"no {name} notification within {timeout} s")


def drain(m: Any, timeout: float = 1.0) -> list[str]:
    out: list[str] = []
    while (got := take(m, timeout)) is not None:
        out.append(got[0])
    return out


def leaf(elem: Any, path: str) -> str | None:
    found = elem.find(path, {"n": NCN})
    return None if found is None else found.text


def edit_commit(m: Any, name: str, **commit: Any) -> None:
    m.edit_config(target="candidate", config=iface(name))
    m.commit(**commit)


def test_capabilities_advertised(m: Any) -> None:
    caps = set(m.server_capabilities)
    assert {NOTIFICATION_CAP, INTERLEAVE_CAP} <= caps


def test_config_change_reaches_other_session(nc_server: Running) -> None:
    with connect(nc_server) as a, connect(nc_server) as b:
        a.create_subscription()
        edit_commit(b, "eth0")
        ev = take_named(a, "netconf-config-change")
        assert leaf(ev, "n:changed-by/n:username") == "admin"
        assert leaf(ev, "n:changed-by/n:session-id") == str(b.session_id)
        assert leaf(ev, "n:changed-by/n:source-host") == "127.0.0.1"
        assert leaf(ev, "n:datastore") == "running"
        edits = ev.findall("n:edit", {"n": NCN})
        assert [(leaf(e, "n:target"), leaf(e, "n:operation")) for e in edits] == [
            ("/if:interfaces", "create")]  # the container did not exist: created whole
        edit_commit(b, "eth1")
        ev = take_named(a, "netconf-config-change")
        edits = ev.findall("n:edit", {"n": NCN})
        assert [leaf(e, "n:operation") for e in edits] == ["create"]
        target = edits[0].find("n:target", {"n": NCN})
        assert target.text == "/if:interfaces/if:interface[if:name='eth1']"
        assert target.nsmap["if"] == IF
        b.edit_config(target="candidate", config=iface("eth0", op="delete", type_=None))
        b.commit()
        ev = take_named(a, "netconf-config-change")
        assert [leaf(e, "n:operation") for e in ev.findall("n:edit", {"n": NCN})] == ["delete"]


def test_config_change_from_another_transport(nc_server: Running, m: Any) -> None:
    from datastore.datastores import CommitMeta

    m.create_subscription()
    ds = nc_server.ds
    tree = ds.root_cls.model_validate({"ietf-interfaces:interfaces": {"interface": [
        {"name": "rc0", "type": "iana-if-type:ethernetCsmacd"}]}})
    with ds.lock:
        ds.commit_tree(tree, None, CommitMeta(user="carol", transport="restconf", session_id=99))
    ev = take_named(m, "netconf-config-change")
    assert leaf(ev, "n:changed-by/n:username") == "carol"
    assert leaf(ev, "n:changed-by/n:session-id") == "0"  # not a NETCONF session
    assert leaf(ev, "n:changed-by/n:source-host") is None


def test_session_start_and_end(nc_server: Running, m: Any) -> None:
    m.create_subscription()
    other = connect(nc_server)
    sid = other.session_id
    ev = take_named(m, "netconf-session-start")
    assert (leaf(ev, "n:username"), leaf(ev, "n:session-id")) == ("admin", str(sid))
    assert leaf(ev, "n:source-host") == "127.0.0.1"
    other.close_session()
    ev = take_named(m, "netconf-session-end")
    assert (leaf(ev, "n:session-id"), leaf(ev, "n:termination-reason")) == (str(sid), "closed")
    third = connect(nc_server)
    take_named(m, "netconf-session-start")
    m.kill_session(str(third.session_id))
    ev = take_named(m, "netconf-session-end")
    assert leaf(ev, "n:termination-reason") == "killed"
    assert leaf(ev, "n:killed-by") == str(m.session_id)


def test_confirmed_commit_events(nc_server: Running) -> None:
    with connect(nc_server) as a, connect(nc_server) as b:
        a.create_subscription()
        edit_commit(b, "eth0", confirmed=True, timeout="60")
        ev = take_named(a, "netconf-confirmed-commit")
        assert (leaf(ev, "n:confirm-event"), leaf(ev, "n:timeout")) == ("start", "60")
        assert leaf(ev, "n:session-id") == str(b.session_id)
        edit_commit(b, "eth1", confirmed=True, timeout="30")
        ev = take_named(a, "netconf-confirmed-commit")
        assert (leaf(ev, "n:confirm-event"), leaf(ev, "n:timeout")) == ("extend", "30")
        b.commit()
        assert leaf(take_named(a, "netconf-confirmed-commit"), "n:confirm-event") == "complete"
        edit_commit(b, "eth2", confirmed=True)
        assert leaf(take_named(a, "netconf-confirmed-commit"), "n:confirm-event") == "start"
        b.cancel_commit()
        seen = {}
        while len(seen) < 2 and (n := take(a)) is not None:
            seen[n[0]] = n[1]
        assert leaf(seen["netconf-confirmed-commit"], "n:confirm-event") == "cancel"
        # the rollback is a commit too: changed by the server
        assert seen["netconf-config-change"].find("n:changed-by/n:server", {"n": NCN}) is not None


def test_confirmed_commit_timeout(nc_server: Running) -> None:
    with connect(nc_server) as a, connect(nc_server) as b:
        a.create_subscription()
        edit_commit(b, "eth0", confirmed=True, timeout="1")
        assert leaf(take_named(a, "netconf-confirmed-commit"), "n:confirm-event") == "start"
        ev = take_named(a, "netconf-confirmed-commit", timeout=10)
        assert leaf(ev, "n:confirm-event") == "timeout"
        assert ev.find("n:session-id", {"n": NCN}) is None  # no session for a timeout
        assert names(a.get_config(source="running")) == []


def test_replay_from_start_time(nc_server: Running) -> None:
    assert nc_server.server.notifications is not None
    nc_server.server.notifications.flush()  # the users commit at start-up is before start
    start = datetime.now(UTC)
    with connect(nc_server) as b:
        edit_commit(b, "eth0")
    assert nc_server.server.notifications is not None
    assert nc_server.server.notifications.flush()
    with connect(nc_server) as a:
        a.create_subscription(start_time=start.isoformat())
        got = []
        while (n := take(a)) is not None and n[0] != "replayComplete":
            got.append(n[0])
        assert n is not None and n[1].tag == f"{{{NM}}}replayComplete"
        # from before the subscription: b's session, its commit, its end, a's own start
        assert got[:3] == ["netconf-session-start", "netconf-config-change", "netconf-session-end"]
        with connect(nc_server):  # live events follow the replay
            take_named(a, "netconf-session-start")


def test_stop_time_ends_with_notification_complete(nc_server: Running) -> None:
    start = datetime.now(UTC) - timedelta(seconds=1)
    with connect(nc_server) as b:
        edit_commit(b, "eth0")
    assert nc_server.server.notifications is not None
    nc_server.server.notifications.flush()
    stop = datetime.now(UTC) + timedelta(seconds=1.5)
    with connect(nc_server) as a:
        a.create_subscription(start_time=start.isoformat(), stop_time=stop.isoformat())
        take_named(a, "replayComplete")
        take_named(a, "notificationComplete", timeout=10)
        # the subscription has ended: nothing more arrives, a new one may be made
        with connect(nc_server):
            pass
        assert drain(a) == []
        a.create_subscription()


def test_stop_time_in_the_past(nc_server: Running) -> None:
    start = datetime.now(UTC) - timedelta(seconds=1)
    with connect(nc_server) as b:
        edit_commit(b, "eth0")
    nc_server.server.notifications.flush()  # type: ignore[union-attr]
    stop = datetime.now(UTC)
    with connect(nc_server) as a:
        a.create_subscription(start_time=start.isoformat(), stop_time=stop.isoformat())
        got = drain(a)
        assert "netconf-config-change" in got
        assert got[-2:] == ["replayComplete", "notificationComplete"]


def test_subtree_filter(nc_server: Running) -> None:
    with connect(nc_server) as a, connect(nc_server) as b:
        flt = f'<netconf-config-change xmlns="{NCN}"/>'
        a.create_subscription(filter=("subtree", flt))
        with connect(nc_server):
            pass
        edit_commit(b, "eth0")
        assert take_named(a, "netconf-config-change") is not None
        assert drain(a) == []  # the session start/end were filtered out


def test_subtree_filter_content_match(nc_server: Running) -> None:
    with connect(nc_server) as a:
        flt = (f'<netconf-session-end xmlns="{NCN}">'
               f"<termination-reason>killed</termination-reason></netconf-session-end>")
        a.create_subscription(filter=("subtree", flt))
        with connect(nc_server):
            pass  # closed: not selected
        victim = connect(nc_server)
        a.kill_session(str(victim.session_id))
        ev = take_named(a, "netconf-session-end")
        assert leaf(ev, "n:termination-reason") == "killed"
        assert drain(a) == []


def test_xpath_filter(nc_server: Running) -> None:
    with connect(nc_server) as a:
        a.create_subscription(filter=("xpath", (
            {"n": NCN}, "/n:netconf-session-start[n:username='admin']")))
        with connect(nc_server):
            pass
        take_named(a, "netconf-session-start")
        assert drain(a) == []


def test_errors(nc_server: Running, m: Any) -> None:
    with pytest.raises(RPCError) as e:
        m.create_subscription(stream_name="nope")
    assert e.value.tag == "invalid-value"
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    with pytest.raises(RPCError) as e:
        m.create_subscription(start_time=future)
    assert e.value.tag == "bad-element"
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    with pytest.raises(RPCError) as e:
        m.create_subscription(start_time=past, stop_time=(datetime.now(UTC) - timedelta(hours=2)).isoformat())
    assert e.value.tag == "bad-element"
    with pytest.raises(RPCError) as e:
        m.create_subscription(start_time="yesterday")
    assert e.value.tag == "bad-element"
    m.create_subscription()
    with pytest.raises(RPCError) as e:
        m.create_subscription()
    assert e.value.tag == "in-use"


def test_stop_time_without_start_time(m: Any) -> None:
    from ncclient.xml_ import to_ele

    with pytest.raises(RPCError) as e:
        m.dispatch(to_ele(f'<create-subscription xmlns="{NOTIF}">'
                          f"<stopTime>2030-01-01T00:00:00Z</stopTime></create-subscription>"))
    assert e.value.tag == "missing-element"


def test_interleave(nc_server: Running) -> None:
    with connect(nc_server) as a, connect(nc_server) as b:
        a.create_subscription()
        for i in range(5):
            edit_commit(b, f"eth{i}")
            assert f"eth{i}" in names(a.get_config(source="running"))
            take_named(a, "netconf-config-change")
        edit_commit(a, "own0")  # the subscriber's own commits are reported to it too
        ev = take_named(a, "netconf-config-change")
        assert leaf(ev, "n:changed-by/n:session-id") == str(a.session_id)


def test_every_event_is_logged(nc_server: Running) -> None:
    from datastore.events import EventLog

    log = EventLog(nc_server.ds.store)
    nc_server.server.notifications.flush()  # type: ignore[union-attr]
    skip = len(log.replay())  # the users commit at start-up (users.json imported)
    with connect(nc_server) as b:
        edit_commit(b, "eth0")
    # the server ends the session (and publishes session-end) after the client has gone:
    # wait for it, within a bound
    deadline = time.monotonic() + 10
    while True:
        nc_server.server.notifications.flush()  # type: ignore[union-attr]
        kinds = [etree.QName(etree.fromstring(e.content)).localname for e in log.replay()[skip:]]
        if len(kinds) >= 3 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert kinds[:3] == ["netconf-session-start", "netconf-config-change", "netconf-session-end"]
