"""NMDA (RFC 8526) through ncclient: get-data on every datastore, edit-data."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree
from ncclient.operations import RPCError

import models.generated as g
from datastore.operational import LEARNED
from models.bundle import YangModel
from tests.server.conftest import Running
from tests.server.helpers import IF, NC, el, iface

NMDA = "urn:ietf:params:xml:ns:yang:ietf-netconf-nmda"
DS = "urn:ietf:params:xml:ns:yang:ietf-datastores"
OR = "urn:ietf:params:xml:ns:yang:ietf-origin"
NCM = "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"
WD = "urn:ietf:params:xml:ns:yang:ietf-netconf-with-defaults"
ORIGIN = f"{{{OR}}}origin"


class Kernel:
    """A state provider: eth0's oper-status and a learned loopback."""

    name = "kernel"
    origin = LEARNED

    def state(self) -> YangModel | None:
        return g.Root.model_validate({"ietf-interfaces:interfaces": {"interface": [
            {"name": "eth0", "type": "iana-if-type:ethernetCsmacd", "oper-status": "up"},
            {"name": "lo", "type": "iana-if-type:softwareLoopback", "oper-status": "up"}]}})


def get_data(m: Any, ds: str, body: str = "") -> Any:
    reply = m.dispatch(el(f'<get-data xmlns="{NMDA}" xmlns:ds="{DS}" xmlns:or="{OR}">'
                          f"<datastore>ds:{ds}</datastore>{body}</get-data>"))
    root = etree.fromstring(reply.xml.encode())
    data = root.find(f"{{{NMDA}}}data")
    assert data is not None, reply.xml
    return data


def edit_data(m: Any, ds: str, config: str, default_op: str | None = None) -> Any:
    dop = f"<default-operation>{default_op}</default-operation>" if default_op else ""
    inner = config.replace(f'<config xmlns="{NC}" xmlns:nc="{NC}">', "").replace("</config>", "")
    return m.dispatch(el(f'<edit-data xmlns="{NMDA}" xmlns:ds="{DS}" xmlns:nc="{NC}">'
                         f"<datastore>ds:{ds}</datastore>{dop}<config>{inner}</config></edit-data>"))


def iface_names(data: Any) -> list[str]:
    return [e.text for e in data.iterfind(f".//{{{IF}}}interface/{{{IF}}}name")]


def interface(data: Any, name: str) -> Any:
    for e in data.iterfind(f".//{{{IF}}}interface"):
        if e.findtext(f"{{{IF}}}name") == name:
            return e
    raise AssertionError(f"no interface {name}")


@pytest.fixture
def oper(m: Any, nc_server: Running) -> Any:
    nc_server.ds.add_state_provider(Kernel())
    m.edit_config(target="running", config=iface("eth0", extra="<description>up</description>"))
    return m


def test_get_data_running_candidate_startup(m: Any) -> None:
    m.edit_config(target="running", config=iface("eth0"))
    m.edit_config(target="candidate", config=iface("eth1"))
    assert iface_names(get_data(m, "running")) == ["eth0"]
    assert iface_names(get_data(m, "candidate")) == ["eth0", "eth1"]
    assert iface_names(get_data(m, "startup")) == []
    m.copy_config(source="running", target="startup")
    assert iface_names(get_data(m, "startup")) == ["eth0"]
    assert get_data(m, "running").find(f"{{{NCM}}}netconf-state") is None  # config only


def test_get_data_operational_has_state_and_server_state(oper: Any) -> None:
    data = get_data(oper, "operational")
    assert iface_names(data) == ["eth0", "lo"]
    assert interface(data, "eth0").findtext(f"{{{IF}}}oper-status") == "up"
    assert interface(data, "eth0").findtext(f"{{{IF}}}enabled") == "true"  # default in use
    assert data.find(f"{{{NCM}}}netconf-state/{{{NCM}}}sessions") is not None
    assert data.find("{urn:ietf:params:xml:ns:yang:ietf-yang-library}yang-library") is not None
    assert data.find(f".//{{{IF}}}interface[@{ORIGIN}]") is None  # no with-origin: no annotations


def test_with_origin(oper: Any) -> None:
    data = get_data(oper, "operational", "<with-origin/>")
    top = data.find(f"{{{IF}}}interfaces")
    assert top.get(ORIGIN) == "or:intended"
    assert top.nsmap.get("or") == OR
    eth0, lo = interface(data, "eth0"), interface(data, "lo")
    assert eth0.get(ORIGIN) is None  # inherited from interfaces
    assert eth0.find(f"{{{IF}}}description").get(ORIGIN) is None
    assert eth0.find(f"{{{IF}}}enabled").get(ORIGIN) == "or:default"
    assert eth0.find(f"{{{IF}}}oper-status").get(ORIGIN) is None  # state: no origin
    assert lo.get(ORIGIN) == "or:learned"
    assert lo.find(f"{{{IF}}}type").get(ORIGIN) is None  # inherited from the entry
    assert lo.find(f"{{{IF}}}enabled").get(ORIGIN) == "or:default"
    ns = data.find(f"{{{NCM}}}netconf-state")
    assert ns is not None and ns.get(ORIGIN) is None  # config false


def test_origin_filter(oper: Any) -> None:
    data = get_data(oper, "operational", "<origin-filter>or:learned</origin-filter>")
    eth0 = interface(data, "eth0")  # intended: only its state (not origin-filtered) and key stay
    assert [etree.QName(c).localname for c in eth0] == ["name", "oper-status"]
    lo = interface(data, "lo")
    assert lo.findtext(f"{{{IF}}}type") is not None
    assert lo.find(f"{{{IF}}}enabled") is None  # or:default
    assert data.find(f"{{{NCM}}}netconf-state") is not None  # state is not origin-filtered

    data = get_data(oper, "operational", "<negated-origin-filter>or:learned</negated-origin-filter>"
                    "<negated-origin-filter>or:default</negated-origin-filter>")
    eth0 = interface(data, "eth0")
    assert eth0.findtext(f"{{{IF}}}description") == "up"
    assert eth0.find(f"{{{IF}}}enabled") is None
    assert eth0.findtext(f"{{{IF}}}oper-status") == "up"  # state stays
    assert interface(data, "lo").find(f"{{{IF}}}type") is None

    data = get_data(oper, "operational", "<origin-filter>or:origin</origin-filter>")  # derived-from-or-self
    assert iface_names(data) == ["eth0", "lo"]


def test_config_filter(oper: Any) -> None:
    data = get_data(oper, "operational", "<config-filter>false</config-filter>")
    eth0 = interface(data, "eth0")
    assert [etree.QName(c).localname for c in eth0] == ["name", "oper-status"]  # key + state
    assert data.find(f"{{{NCM}}}netconf-state") is not None
    data = get_data(oper, "operational", "<config-filter>true</config-filter>")
    assert data.find(f"{{{NCM}}}netconf-state") is None
    assert interface(data, "eth0").find(f"{{{IF}}}oper-status") is None
    assert interface(data, "eth0").findtext(f"{{{IF}}}description") == "up"


def test_max_depth(oper: Any) -> None:
    data = get_data(oper, "operational", "<max-depth>1</max-depth>")
    top = data.find(f"{{{IF}}}interfaces")
    assert top is not None and len(top) == 0
    data = get_data(oper, "operational", "<max-depth>2</max-depth>")
    eth0 = interface(data, "eth0")
    assert [etree.QName(c).localname for c in eth0] == ["name"]  # the entry with its key
    data = get_data(oper, "running", "<max-depth>unbounded</max-depth>")
    assert interface(data, "eth0").findtext(f"{{{IF}}}description") == "up"


def test_filters(oper: Any) -> None:
    sub = f'<subtree-filter><interfaces xmlns="{IF}"><interface><name>lo</name></interface></interfaces>'
    data = get_data(oper, "operational", sub + "</subtree-filter><with-origin/>")
    assert iface_names(data) == ["lo"]
    assert interface(data, "lo").get(ORIGIN) == "or:learned"
    assert list(data) == [data.find(f"{{{IF}}}interfaces")]
    xp = f"<xpath-filter xmlns:if=\"{IF}\">/if:interfaces/if:interface[if:name='eth0']/if:description"
    data = get_data(oper, "running", xp + "</xpath-filter>")
    eth0 = interface(data, "eth0")
    assert [etree.QName(c).localname for c in eth0] == ["name", "description"]


def test_with_defaults(oper: Any) -> None:
    def enabled(ds: str, mode: str | None) -> Any:
        wd = f'<with-defaults xmlns="{WD}">{mode}</with-defaults>' if mode else ""
        return interface(get_data(oper, ds, wd), "eth0").find(f"{{{IF}}}enabled")

    assert enabled("running", None) is None  # basic mode explicit
    assert enabled("running", "report-all").text == "true"
    tagged = enabled("running", "report-all-tagged")
    assert tagged.get("{urn:ietf:params:xml:ns:netconf:default:1.0}default") == "true"
    assert enabled("operational", None).text == "true"  # operational basic mode: report-all
    assert enabled("operational", "explicit") is None
    assert enabled("operational", "trim") is None
    caps = [c for c in oper.server_capabilities if "with-operational-defaults" in c]
    assert caps == ["urn:ietf:params:netconf:capability:with-operational-defaults:1.0"
                    "?basic-mode=report-all&also-supported=explicit,trim,report-all-tagged"]


@pytest.mark.parametrize(("ds", "body", "tag"), [
    ("running", "<with-origin/>", "invalid-value"),
    ("candidate", "<origin-filter>or:learned</origin-filter>", "invalid-value"),
    ("intended", "", "invalid-value"),
    ("operational", "<max-depth>0</max-depth>", "invalid-value"),
    ("operational", "<config-filter>maybe</config-filter>", "invalid-value"),
    ("operational", "<origin-filter>or:nonsense</origin-filter>", "invalid-value"),
    ("running", "<bogus/>", "unknown-element"),
    ("running", f'<with-defaults xmlns="{WD}">sometimes</with-defaults>', "invalid-value"),
])
def test_get_data_errors(m: Any, ds: str, body: str, tag: str) -> None:
    with pytest.raises(RPCError) as e:
        get_data(m, ds, body)
    assert e.value.tag == tag


def test_get_data_unprefixed_datastore_is_invalid(m: Any) -> None:
    with pytest.raises(RPCError) as e:
        m.dispatch(el(f'<get-data xmlns="{NMDA}"><datastore>running</datastore></get-data>'))
    assert e.value.tag == "invalid-value"


def test_edit_data_running_and_candidate(m: Any) -> None:
    edit_data(m, "running", iface("eth0"))
    assert iface_names(get_data(m, "running")) == ["eth0"]
    edit_data(m, "candidate", iface("eth1"))
    assert iface_names(get_data(m, "candidate")) == ["eth0", "eth1"]
    assert iface_names(get_data(m, "running")) == ["eth0"]
    m.commit()
    assert iface_names(get_data(m, "running")) == ["eth0", "eth1"]
    edit_data(m, "running", iface("eth0", op="delete", type_=None))
    assert iface_names(get_data(m, "running")) == ["eth1"]
    edit_data(m, "running", iface("eth2"), default_op="replace")
    assert iface_names(get_data(m, "running")) == ["eth2"]


def test_edit_data_errors_change_nothing(m: Any) -> None:
    edit_data(m, "running", iface("eth0"))
    with pytest.raises(RPCError) as e:
        edit_data(m, "running", iface("eth0", op="create"))
    assert e.value.tag == "data-exists"
    for ds in ("operational", "startup"):
        with pytest.raises(RPCError) as e:
            edit_data(m, ds, iface("eth9"))
        assert e.value.tag == "invalid-value"
    with pytest.raises(RPCError) as e:
        m.dispatch(el(f'<edit-data xmlns="{NMDA}" xmlns:ds="{DS}"><datastore>ds:running</datastore>'
                      "<url>file:///tmp/x</url></edit-data>"))
    assert e.value.tag == "operation-not-supported"
    assert iface_names(get_data(m, "running")) == ["eth0"]


def test_max_depth_counts_from_the_subtree_selection(oper: Any) -> None:
    sub = (f'<subtree-filter><interfaces xmlns="{IF}"><interface><name>lo</name></interface>'
           "</interfaces></subtree-filter>")
    data = get_data(oper, "operational", sub + "<max-depth>1</max-depth>")
    assert [etree.QName(c).localname for c in interface(data, "lo")] == ["name"]
    data = get_data(oper, "operational", sub + "<max-depth>2</max-depth>")
    assert "type" in [etree.QName(c).localname for c in interface(data, "lo")]
    sub = (f'<subtree-filter><interfaces xmlns="{IF}"><interface><name>eth0</name><description/>'
           "</interface></interfaces></subtree-filter>")
    data = get_data(oper, "running", sub + "<max-depth>1</max-depth>")
    assert interface(data, "eth0").findtext(f"{{{IF}}}description") == "up"


def _nmda_target(op: str, ds: str, holder: str = "target") -> Any:
    return el(f'<{op} xmlns="{NC}"><{holder}><datastore xmlns="{NMDA}" xmlns:ds="{DS}">'
              f"ds:{ds}</datastore></{holder}></{op}>")


def test_lock_unlock_validate_name_an_nmda_datastore(nc_server: Running) -> None:
    """RFC 8526 §3.2: lock, unlock and validate take an ietf-datastores identity."""
    from tests.server.conftest import connect

    with connect(nc_server) as a, connect(nc_server) as b:
        a.dispatch(_nmda_target("lock", "candidate"))
        assert nc_server.ds.locks.get("candidate") == int(a.session_id)
        with pytest.raises(RPCError) as e:
            b.dispatch(_nmda_target("lock", "candidate"))
        assert e.value.tag == "lock-denied"
        a.dispatch(_nmda_target("unlock", "candidate"))
        assert "candidate" not in nc_server.ds.locks
        a.dispatch(_nmda_target("validate", "running", "source"))
        with pytest.raises(RPCError) as e:
            a.dispatch(_nmda_target("lock", "operational"))  # not a lockable datastore
        assert e.value.tag == "invalid-value"
        with pytest.raises(RPCError) as e:
            a.dispatch(el(f'<lock xmlns="{NC}"><target><datastore xmlns="{NMDA}">running'
                          "</datastore></target></lock>"))  # not an identity of ietf-datastores
        assert e.value.tag == "invalid-value"
