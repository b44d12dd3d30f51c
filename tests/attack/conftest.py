"""Fixtures of the attack suite (tests/attack); its plain helpers are in tests/helpers/attack_*.py."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def reg(tmp_path_factory):
    """A live registry subprocess (registration delay 0.4 s) with its database open as ``reg.db``."""
    from helpers.sync_helpers import Registry

    from registry.config import Settings
    from registry.storage import open_database

    # rate limits off: these tests attack the protocol, many logins and enrollments in a few seconds from one
    # address (the limits themselves are attacked in test_attack_registry_load.py, on a registry of their own)
    r = Registry(tmp_path_factory.mktemp("attackreg"), register_delay=0.4,
                 extra=["--rate-auth", "0", "--rate-enroll", "0", "--rate-global", "0"]).start()
    r.db = open_database(Settings(data_dir=r.data_dir))
    yield r
    r.db.close()
    r.stop()
