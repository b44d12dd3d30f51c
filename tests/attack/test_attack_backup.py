"""Backups under attack: a backup file damaged or edited anywhere either restores exactly what was backed up, or is
refused with a clear error and leaves nothing behind. Never a half-restored store, never a different one."""

from __future__ import annotations

import random
import shutil

import pytest
from helpers.attack_tools import case, scaled

from fieldapp.store import backup, records

from fieldapp import services
from fieldapp.base.errors import FieldappError
from fieldapp.store.database import Store
from fieldapp.domain.synthetic import make_records

PW = "attack backup pw 1"


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bk")
    with Store(tmp / "laptop").create("sup", PW) as sup:
        ids = records.import_records(sup, make_records(30, seed=7))
        services.review(sup, ids[:10], "approve")
        services.review(sup, ids[10:12], "return", "wrong_name: check")
        backup.create(sup, tmp / "good.bak")
        expected = sorted((r["id"], r["state"], r["reason"], r["data"]["national_id"] if r["data"].get("national_id")
                           else None) for r in records.list_records(sup))
    return tmp / "good.bak", expected


def _mutants(data: bytes, rng: random.Random, n: int):
    for i in range(n):
        kind = ("flip", "flip", "flip", "truncate", "append", "zero_run")[i % 6]
        b = bytearray(data)
        if kind == "flip":
            pos = rng.randrange(len(b))
            b[pos] ^= 1 << rng.randrange(8)
        elif kind == "truncate":
            del b[rng.randrange(1, len(b)):]
        elif kind == "append":
            b += rng.randbytes(rng.randrange(1, 200))
        else:
            pos = rng.randrange(len(b))
            b[pos:pos + 64] = bytes(min(64, len(b) - pos))
        yield kind, bytes(b)


def test_damaged_backups_restore_exactly_or_not_at_all(original, tmp_path):
    good, expected = original
    data = good.read_bytes()
    rng = random.Random(20261125)
    outcomes = {"refused": 0, "identical": 0}
    with case("backup: damaged backup files (bit flips, truncation, junk, zeroed runs)",
              "each restores exactly the backed-up records or is refused with a translated error; "
              "nothing left at the target or beside it") as c:
        for i, (kind, mutant) in enumerate(_mutants(data, rng, scaled(90))):
            src = tmp_path / f"m{i}.bak"
            src.write_bytes(mutant)
            target = tmp_path / f"t{i}"
            try:
                backup.restore(src, target, "sup", PW)
            except FieldappError as exc:
                assert exc.msg_id.startswith(("core.backup.", "core.auth.", "core.slots.", "core.store.")), exc.msg_id
                assert not target.exists() or not backup.holds_a_store(target), kind
                outcomes["refused"] += 1
            else:
                with Store(target).unlock("sup", PW) as sup:
                    got = sorted((r["id"], r["state"], r["reason"], r["data"]["national_id"]
                                  if r["data"].get("national_id") else None) for r in records.list_records(sup))
                assert got == expected, kind
                outcomes["identical"] += 1
                shutil.rmtree(target)
            assert not [p for p in tmp_path.iterdir() if ".restoring-" in p.name]
            src.unlink()
            c.runs += 1
    assert outcomes["refused"] > outcomes["identical"]  # most damage is noticed; the rest did not matter
