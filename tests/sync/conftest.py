"""Fixtures for sync tests: a real registry subprocess on loopback, a fault proxy, a registered device."""

from __future__ import annotations

import pytest

from helpers.faultproxy import FaultProxy
from helpers.sync_helpers import Registry


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    reg = Registry(tmp_path_factory.mktemp("registry")).start()
    yield reg
    reg.stop()


@pytest.fixture
def proxy(registry):
    p = FaultProxy(registry.port)
    yield p
    p.close()


@pytest.fixture
def device_dir(tmp_path, registry, proxy):
    """A data folder registered with the module's registry, through the fault proxy."""
    from sync.registration import register

    data_dir = tmp_path / "laptop"
    register(data_dir, proxy.url, registry.code())
    return data_dir
