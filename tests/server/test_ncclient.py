"""NETCONF end to end through ncclient: every operation, success and error cases."""

from __future__ import annotations

import time
from typing import Any

import pytest
from lxml import etree
from ncclient.operations import RPCError

from tests.server.conftest import Running, connect
from tests.server.helpers import IF, NC, YC, el, iface, names

CAPS = {
    "urn:ietf:params:netconf:base:1.0", "urn:ietf:params:netconf:base:1.1",
    "urn:ietf:params:netconf:capability:candidate:1.0",
    "urn:ietf:params:netconf:capability:confirmed-commit:1.1",
    "urn:ietf:params:netconf:capability:rollback-on-error:1.0",
    "urn:ietf:params:netconf:capability:validate:1.1",
    "urn:ietf:params:netconf:capability:startup:1.0",
    "urn:ietf:params:netconf:capability:writable-running:1.0",
}


def rpc_error(excinfo: Any) -> RPCError:
    e = excinfo.value
    return e.errlist[0] if getattr(e, "errlist", None) else e


def error_path_elem(err: RPCError) -> Any:
    return etree.fromstring(err.xml.encode() if isinstance(err.xml, str) else etree.tostring(err.xml)) \
        .find(f"{{{NC}}}error-path")


def test_hello_capabilities(m: Any) -> None:
    caps = set(m.server_capabilities)
    assert CAPS <= caps
    assert not any(":url:" in c for c in caps)
    wd = [c for c in caps if "capability:with-defaults" in c]
    assert wd == ["urn:ietf:params:netconf:capability:with-defaults:1.0?basic-mode=explicit"
                  "&also-supported=report-all,trim,report-all-tagged"]
    lib = [c for c in caps if "yang-library:1.1" in c]
    assert lib and "revision=2019-01-04" in lib[0] and "content-id=" in lib[0]
    # a YANG 1.0 module is announced per RFC 7950 §5.6.4, a YANG 1.1 module is not
    assert any(c.startswith("urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring?module="
                            "ietf-netconf-monitoring&revision=2010-10-04") for c in caps)
    assert not any("module=ietf-interfaces" in c for c in caps)
    assert m.session_id and int(m.session_id) > 0
    from ncclient.transport.session import NetconfBase

    assert m._session._base == NetconfBase.BASE_11  # chunked framing chosen


def test_yang_library_state_matches_hello(m: Any) -> None:
    lib = next(c for c in m.server_capabilities if "yang-library:1.1" in c)
    cid = lib.split("content-id=")[1]
    ylib = "urn:ietf:params:xml:ns:yang:ietf-yang-library"
    flt = f'<filter type="subtree"><yang-library xmlns="{ylib}"/></filter>'
    root = etree.fromstring(m.get(filter=flt).xml.encode())
    assert root.findtext(f".//{{{ylib}}}content-id") == cid
    mods = {e.findtext(f"{{{ylib}}}name") for e in root.iterfind(f".//{{{ylib}}}module")}
    assert {"ietf-interfaces", "yangd-commits", "ietf-netconf"} <= mods
    ds = [e.text for e in root.iterfind(f".//{{{ylib}}}datastore/{{{ylib}}}name")]
    assert len(ds) == 4 and all(d.split(":")[1] in ("running", "candidate", "startup", "operational")
                                for d in ds)


def test_edit_candidate_commit_running(m: Any) -> None:
    assert names(m.get_config("running")) == []
    m.edit_config(target="candidate", config=iface("eth0"))
    assert names(m.get_config("candidate")) == ["eth0"]
    assert names(m.get_config("running")) == []
    m.commit()
    assert names(m.get_config("running")) == ["eth0"]
    assert names(m.get()) == ["eth0"]


def test_edit_running_directly(m: Any, nc_server: Running) -> None:
    head = nc_server.ds.head  # 1: the users commit (users.json imported into ietf-system)
    m.edit_config(target="running", config=iface("eth1"))
    assert names(m.get_config("running")) == ["eth1"]
    assert nc_server.ds.head == head + 1


def test_create_existing_is_data_exists_with_prefixed_path(m: Any) -> None:
    m.edit_config(target="candidate", config=iface("eth0"))
    with pytest.raises(RPCError) as e:
        m.edit_config(target="candidate", config=iface("eth0", "create"))
    err = rpc_error(e)
    assert err.tag == "data-exists" and err.type == "application" and err.severity == "error"
    p = error_path_elem(err)
    assert p.text.strip() == "/if:interfaces/if:interface[if:name='eth0']"
    assert p.nsmap["if"] == IF


def test_delete_missing_is_data_missing(m: Any) -> None:
    with pytest.raises(RPCError) as e:
        m.edit_config(target="candidate", config=iface("nope", "delete", type_=None))
    err = rpc_error(e)
    assert err.tag == "data-missing"
    assert error_path_elem(err).text.strip() == "/if:interfaces/if:interface[if:name='nope']"


def test_unknown_element_in_config(m: Any) -> None:
    with pytest.raises(RPCError) as e:
        m.edit_config(target="candidate", config=iface("eth0", extra="<bogus>1</bogus>"))
    assert rpc_error(e).tag == "unknown-element"
    assert names(m.get_config("candidate")) == []


def test_merge_then_delete(m: Any) -> None:
    m.edit_config(target="candidate", config=iface("eth0"))
    m.edit_config(target="candidate", config=iface("eth1"))
    m.edit_config(target="candidate", config=iface("eth0", "delete", type_=None))
    assert names(m.get_config("candidate")) == ["eth1"]


def test_commit_of_invalid_candidate_fails_and_running_unchanged(m: Any, nc_server: Running) -> None:
    head = nc_server.ds.head
    m.edit_config(target="candidate", config=iface("eth0", type_=None))  # type is mandatory
    with pytest.raises(RPCError) as e:
        m.commit()
    assert rpc_error(e).tag in ("data-missing", "missing-element", "operation-failed")
    assert names(m.get_config("running")) == [] and nc_server.ds.head == head


def test_continue_on_error_reports_and_applies_the_rest(m: Any) -> None:
    m.edit_config(target="candidate", config=iface("eth0"))
    cfg = (f'<config xmlns="{NC}" xmlns:nc="{NC}"><interfaces xmlns="{IF}" '
           f'xmlns:ianaift="urn:ietf:params:xml:ns:yang:iana-if-type">'
           '<interface nc:operation="create"><name>eth0</name><type>ianaift:ethernetCsmacd</type></interface>'
           '<interface><name>eth1</name><type>ianaift:ethernetCsmacd</type></interface>'
           "</interfaces></config>")
    with pytest.raises(RPCError) as e:
        m.edit_config(target="candidate", config=cfg, error_option="continue-on-error")
    assert rpc_error(e).tag == "data-exists"
    assert names(m.get_config("candidate")) == ["eth0", "eth1"]


def test_rollback_on_error_changes_nothing(m: Any) -> None:
    m.edit_config(target="candidate", config=iface("eth0"))
    cfg = iface("eth0", "create").replace("</interfaces>", "<interface><name>eth1</name>"
                                          "<type>ianaift:ethernetCsmacd</type></interface></interfaces>")
    with pytest.raises(RPCError):
        m.edit_config(target="candidate", config=cfg, error_option="rollback-on-error")
    assert names(m.get_config("candidate")) == ["eth0"]


def test_test_only_does_not_change(m: Any) -> None:
    m.edit_config(target="candidate", config=iface("eth0"), test_option="test-only")
    assert names(m.get_config("candidate")) == []


def test_confirmed_commit_and_confirm(m: Any, nc_server: Running) -> None:
    m.edit_config(target="candidate", config=iface("eth0"))
    m.commit(confirmed=True, timeout="30")
    assert nc_server.ds.pending is not None
    assert names(m.get_config("running")) == ["eth0"]
    m.commit()
    assert nc_server.ds.pending is None
    assert names(m.get_config("running")) == ["eth0"]


def test_confirmed_commit_times_out_while_client_keeps_asking(m: Any) -> None:
    m.edit_config(target="candidate", config=iface("eth0"))
    m.commit(confirmed=True, timeout="1")
    deadline = time.time() + 5
    while names(m.get_config("running")) and time.time() < deadline:
        time.sleep(0.1)
    assert names(m.get_config("running")) == []


def test_cancel_commit_with_persist_id_from_another_session(m: Any, nc_server: Running) -> None:
    m.edit_config(target="candidate", config=iface("eth0"))
    m.commit(confirmed=True, timeout="30", persist="tok")
    with connect(nc_server) as other:
        with pytest.raises(RPCError):
            other.cancel_commit(persist_id="wrong")
        other.cancel_commit(persist_id="tok")
    assert names(m.get_config("running")) == [] and nc_server.ds.pending is None


def test_session_end_rolls_back_unconfirmed_commit(nc_server: Running) -> None:
    with connect(nc_server) as a:
        a.edit_config(target="candidate", config=iface("eth0"))
        a.commit(confirmed=True, timeout="30")
    deadline = time.time() + 5
    while nc_server.ds.pending is not None and time.time() < deadline:
        time.sleep(0.05)
    assert nc_server.ds.pending is None and nc_server.ds.running.interfaces is None


def test_lock_denied_and_in_use_from_second_session(m: Any, nc_server: Running) -> None:
    m.lock("running")
    with connect(nc_server) as b:
        with pytest.raises(RPCError) as e:
            b.lock("running")
        err = rpc_error(e)
        assert err.tag == "lock-denied" and err.type == "protocol"
        assert err.info and f">{m.session_id}<" in err.info.replace(" ", "")
        with pytest.raises(RPCError) as e:
            b.edit_config(target="running", config=iface("eth9"))
        assert rpc_error(e).tag == "in-use"
        m.unlock("running")
        b.lock("running")
        b.unlock("running")
    with pytest.raises(RPCError) as e:
        m.unlock("running")
    assert rpc_error(e).tag == "operation-failed"


def test_discard_changes(m: Any) -> None:
    m.edit_config(target="candidate", config=iface("eth0"))
    m.discard_changes()
    assert names(m.get_config("candidate")) == []


def test_close_session_releases_lock(nc_server: Running) -> None:
    a = connect(nc_server)
    a.lock("candidate")
    a.close_session()
    deadline = time.time() + 5
    while "candidate" in nc_server.ds.locks and time.time() < deadline:
        time.sleep(0.05)
    assert "candidate" not in nc_server.ds.locks


def test_kill_session(m: Any, nc_server: Running) -> None:
    b = connect(nc_server)
    b.lock("running")
    with pytest.raises(RPCError) as e:
        m.kill_session(m.session_id)
    assert rpc_error(e).tag == "invalid-value"
    with pytest.raises(RPCError) as e:
        m.kill_session("9999")
    assert rpc_error(e).tag == "invalid-value"
    m.kill_session(b.session_id)
    assert "running" not in nc_server.ds.locks  # released before the reply
    m.lock("running")
    deadline = time.time() + 5
    while b.connected and time.time() < deadline:
        time.sleep(0.05)
    assert not b.connected


def test_validate(m: Any) -> None:
    m.edit_config(target="candidate", config=iface("eth0"))
    m.validate("candidate")
    m.dispatch(el(f'<validate xmlns="{NC}"><source>{iface("eth1")}</source></validate>'))
    with pytest.raises(RPCError) as e:
        m.dispatch(el(f'<validate xmlns="{NC}"><source>{iface("eth1", type_=None)}</source></validate>'))
    assert rpc_error(e).tag in ("data-missing", "missing-element")


def test_copy_config_and_delete_startup(m: Any) -> None:
    m.edit_config(target="running", config=iface("eth0"))
    m.copy_config(source="running", target="startup")
    assert names(m.get_config("startup")) == ["eth0"]
    m.delete_config("startup")
    assert names(m.get_config("startup")) == []
    m.dispatch(el(f'<copy-config xmlns="{NC}"><target><candidate/></target>'
                  f'<source>{iface("eth7")}</source></copy-config>'))
    assert names(m.get_config("candidate")) == ["eth7"]
    with pytest.raises(RPCError) as e:
        m.delete_config("running")
    assert rpc_error(e).tag == "operation-not-supported"


def test_with_defaults_modes(m: Any) -> None:
    m.edit_config(target="running", config=iface("eth0"))
    m.edit_config(target="running", config=iface("eth1", extra="<enabled>true</enabled>"))

    def enabled(mode: str | None) -> dict[str, Any]:
        reply = m.get_config("running", with_defaults=mode) if mode else m.get_config("running")
        root = etree.fromstring(reply.xml.encode())
        out: dict[str, Any] = {}
        for i in root.iterfind(f".//{{{IF}}}interface"):
            en = i.find(f"{{{IF}}}enabled")
            out[i.findtext(f"{{{IF}}}name")] = None if en is None else (
                en.text, en.get("{urn:ietf:params:xml:ns:netconf:default:1.0}default"))
        return out

    assert enabled(None) == {"eth0": None, "eth1": ("true", None)}  # explicit
    assert enabled("explicit") == {"eth0": None, "eth1": ("true", None)}
    assert enabled("report-all") == {"eth0": ("true", None), "eth1": ("true", None)}
    assert enabled("trim") == {"eth0": None, "eth1": None}
    assert enabled("report-all-tagged") == {"eth0": ("true", "true"), "eth1": ("true", "true")}


def test_subtree_filter(m: Any) -> None:
    pytest.importorskip("models.filter")
    m.edit_config(target="running", config=iface("eth0"))
    m.edit_config(target="running", config=iface("eth1"))
    flt = (f'<filter type="subtree"><interfaces xmlns="{IF}"><interface><name>eth1</name>'
           "</interface></interfaces></filter>")
    assert names(m.get_config("running", filter=flt)) == ["eth1"]
    assert names(m.get(filter=flt)) == ["eth1"]


def test_xpath_filter(m: Any) -> None:
    m.edit_config(target="running", config=iface("eth0"))
    m.edit_config(target="running", config=iface("eth1"))
    flt = (f'<filter xmlns="{NC}" xmlns:if="{IF}" type="xpath" '
           "select=\"/if:interfaces/if:interface[if:name='eth0']\"/>")
    reply = m.dispatch(el(f'<get-config xmlns="{NC}"><source><running/></source>{flt}</get-config>'))
    assert names(reply) == ["eth0"]


def test_commit_comment_label_and_rollback(m: Any, nc_server: Running) -> None:
    head = nc_server.ds.head  # 1: the users commit
    m.edit_config(target="candidate", config=iface("eth0"))
    m.dispatch(el(f'<commit xmlns="{NC}"><comment xmlns="{YC}">first</comment>'
                  f'<label xmlns="{YC}">base</label></commit>'))
    m.edit_config(target="candidate", config=iface("eth1"))
    m.commit()
    assert names(m.get_config("running")) == ["eth0", "eth1"]
    reply = m.dispatch(el(f'<rollback xmlns="{YC}"><label>base</label></rollback>'))
    out = etree.fromstring(reply.xml.encode())
    assert out.findtext(f"{{{YC}}}id") == str(head + 3)
    assert names(m.get_config("running")) == ["eth0"]
    c = nc_server.ds.commits(3)
    assert c[2].comment == "first" and c[2].label == "base" and c[2].transport == "netconf"
    with pytest.raises(RPCError) as e:
        m.dispatch(el(f'<rollback xmlns="{YC}"><id>99</id></rollback>'))
    assert rpc_error(e).tag == "invalid-value"
    # the history as state data
    state = etree.fromstring(m.get().xml.encode())
    assert state.findtext(f".//{{{YC}}}commits/{{{YC}}}head") == str(head + 3)


def test_compare_rpc(m: Any) -> None:
    m.edit_config(target="candidate", config=iface("eth0"))
    reply = etree.fromstring(m.dispatch(el(f'<compare xmlns="{YC}"><from>running</from></compare>')).xml.encode())
    assert reply.findtext(f"{{{YC}}}change/{{{YC}}}operation") == "create"
    assert reply.findtext(f"{{{YC}}}change/{{{YC}}}path") == "/ietf-interfaces:interfaces"


def test_rpc_input_errors_are_rpc_errors(m: Any) -> None:
    with pytest.raises(RPCError) as e:
        m.dispatch(el(f'<rollback xmlns="{YC}"><id>notanumber</id></rollback>'))
    assert rpc_error(e).tag == "invalid-value"


def test_many_concurrent_sessions(nc_server: Running) -> None:
    head = nc_server.ds.head
    sessions = [connect(nc_server) for _ in range(8)]
    ids = {s.session_id for s in sessions}
    assert len(ids) == 8
    for i, s in enumerate(sessions):
        s.edit_config(target="running", config=iface(f"eth{i}"))
    for s in sessions:
        s.close_session()
    assert nc_server.ds.head == head + 8
