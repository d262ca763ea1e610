"""The ``[drivers.*]`` config section and drivers_from_config (no namespace is touched)."""

from __future__ import annotations

from pathlib import Path

import pytest

import models.generated as g
from server.config import ConfigError, load_config
from southbound.kernel import KernelDriver
from southbound.manager import drivers_from_config


def cfg_file(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "yangd.toml"
    p.write_text(text)
    return p


def test_no_drivers_by_default(tmp_path: Path) -> None:
    cfg = load_config(cfg_file(tmp_path, 'netconf_listen = "127.0.0.1:9830"\n'))
    assert cfg.drivers == {}
    assert drivers_from_config(cfg, g.B).drivers == []


def test_kernel_driver_from_config(tmp_path: Path) -> None:
    cfg = load_config(cfg_file(tmp_path, '[drivers.kernel]\nnamespace = "lab"\ntimeout = 2.5\n'
                                         'route_protocol = 201\n\n[drivers.off]\nkind = "kernel"\n'
                                         'enabled = false\n'))
    assert cfg.drivers == {"kernel": {"namespace": "lab", "timeout": 2.5, "route_protocol": 201},
                           "off": {"kind": "kernel", "enabled": False}}
    m = drivers_from_config(cfg, g.B)
    try:
        (k,) = m.drivers
        assert isinstance(k, KernelDriver) and k.name == "kernel"
        assert (k.namespace, k.timeout, k.rt_proto) == ("lab", 2.5, 201)
    finally:
        m.close()


@pytest.mark.parametrize(("text", "msg"), [
    ('[drivers.kernel]\nnamspace = "x"\n', "unknown key 'namspace'"),
    ('[drivers.kernel]\ntimeout = "10"\n', "timeout must be int"),
    ('[drivers.kernel]\ntimeout = 0\n', "timeout must be positive"),
    ('[drivers.bgp]\n', "unknown driver kind 'bgp'"),
    ('[drivers.kernel]\nnamespace = ""\n', "host namespace only with allow_host"),
    ('[drivers.kernel]\nroute_protocol = 2\n', "route_protocol 2"),
])
def test_bad_driver_config(tmp_path: Path, text: str, msg: str) -> None:
    cfg = load_config(cfg_file(tmp_path, text))
    with pytest.raises(ValueError, match=msg):
        drivers_from_config(cfg, g.B)


def test_drivers_must_be_tables(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_config(cfg_file(tmp_path, 'drivers = "kernel"\n'))
