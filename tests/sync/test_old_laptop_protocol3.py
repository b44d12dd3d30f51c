"""Old laptops keep syncing enrollments with a protocol 4 registry (issue 13).

The laptop here is the code of the last protocol 3 commit (``OLD_COMMIT``: member numbers and cards, no lookup, no
updates), ``git archive``d into a folder and run from there as real processes; the registry is this code. The old
laptop enrolls, syncs and gets its member numbers and cards exactly as before; it never asks ``/v1/lookup``. Its
members reach a new laptop serving the same commune through the lookup, and a person it already registered, enrolled
again at the new laptop, is held for review at the registry instead of becoming a second member.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from helpers.clitools import OUTREACH_PASSWORD, PASSWORD, ROOT, Cli, base_env, write_jsonl
from helpers.faultproxy import FaultProxy
from helpers.sync_helpers import Registry
from helpers.lookup_e2e import COMMUNE_A, code_for, enroll, laptop, listed, person, sync

OLD_COMMIT = "3daff8e"


class OldCli(Cli):
    """``python -m fieldapp`` of the old tree (its own packages first on the path)."""

    def __init__(self, data_dir, tree):
        super().__init__(data_dir)
        self.tree = tree

    def __call__(self, *args, password=PASSWORD, new_password=None, check=False, timeout=300, **env):
        extra = dict(env)
        if password is not None:
            extra["FIELDAPP_PASSWORD"] = password
        if new_password is not None:
            extra["FIELDAPP_NEW_PASSWORD"] = new_password
        run_env = base_env(self.data_dir, **extra)
        run_env["PYTHONPATH"] = str(self.tree)
        proc = subprocess.run([sys.executable, "-m", "fieldapp", *map(str, args)], capture_output=True, text=True,
                              env=run_env, stdin=subprocess.DEVNULL, timeout=timeout, cwd=self.tree)
        if check and proc.returncode != 0:
            raise AssertionError(f"old fieldapp {args} exited {proc.returncode}: {proc.stderr}")
        return proc


@pytest.fixture(scope="module")
def old_tree(tmp_path_factory):
    if not shutil.which("git") or subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", OLD_COMMIT + "^{commit}"],
                                                 capture_output=True).returncode != 0:
        pytest.skip(f"needs git and commit {OLD_COMMIT} (a clone with history)")
    tree = tmp_path_factory.mktemp("old-laptop-code")
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", OLD_COMMIT], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return tree


@pytest.mark.slow
def test_a_protocol_3_laptop_keeps_syncing_and_its_members_are_looked_up(tmp_path, old_tree):
    registry = Registry(tmp_path / "registry").start()
    proxy = FaultProxy(registry.port)  # counts what the old laptop asks
    try:
        old = OldCli(tmp_path / "old", old_tree)
        old("init", "--user", "sup", check=True)
        old("user", "add", "--user", "sup", "--new-user", "ow", "--role", "outreach", "--full-name", "Keo Sophal",
            new_password=OUTREACH_PASSWORD, check=True)
        old("register", "--user", "sup", "--server", proxy.url, "--code", code_for(registry, COMMUNE_A), check=True)
        old("import", "--user", "ow", write_jsonl(tmp_path / "old.jsonl", [person()]), password=OUTREACH_PASSWORD,
            check=True)
        old("review", "--user", "sup", "--approve-all", check=True)
        out = old("sync", "--json", "--user", "sup")
        assert out.returncode == 0, out.stderr
        (rec,) = old.json("list", "--user", "sup", "--json")
        assert rec["state"] == "registered" and rec["member_no"], rec
        assert proxy.count("/v1/lookup") == 0 and proxy.count("/v1/batches") >= 1
        # the new laptop in the same commune: the old laptop's member is in its lookup
        new = laptop(tmp_path / "new", registry.url, code_for(registry, COMMUNE_A))
        sync(new)
        (found,) = new.json("members", "ដារ៉ា", "--user", "sup", "--json")
        assert found["member_no"] == rec["member_no"]
        # ...so its duplicate check says so at submit; sent anyway, the registry holds it (not a second member)
        rid = enroll(new, tmp_path, "again", person(given_name="ដារា"))
        assert any(d.get("member_no") == rec["member_no"] for d in listed(new, rid)["duplicates"])
        sync(new)
        assert listed(new, rid)["status"] == "Held for review at the registry"
        (hold,) = json.loads(registry.cli("duplicates"))
        assert hold["record_id"] == rid and hold["matched_registry_id"] == rec["member_no"]
        # the old laptop syncs on, untroubled (a second enrollment of someone else)
        other = person(family_name="កែវ", given_name="សុខា", family_name_latin="Keo", given_name_latin="Sokha",
                       date_of_birth="1985-03-02")
        old("import", "--user", "ow", write_jsonl(tmp_path / "old2.jsonl", [other]), password=OUTREACH_PASSWORD,
            check=True)
        old("review", "--user", "sup", "--approve-all", check=True)
        assert old("sync", "--json", "--user", "sup").returncode == 0
        states = {r["state"] for r in old.json("list", "--user", "sup", "--json")}
        assert states == {"registered"} and proxy.count("/v1/lookup") == 0
    finally:
        proxy.close()
        registry.stop()
