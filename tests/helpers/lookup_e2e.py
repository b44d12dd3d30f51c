"""Shared by the lookup end-to-end tests: laptops' command lines in communes A and B, a person without a national ID,
enroll-approve, sync, list (tests/sync/test_lookup_e2e.py, tests/sync/test_old_laptop_protocol3.py)."""

from __future__ import annotations

import json
import re

from helpers.clitools import OUTREACH_PASSWORD, Cli, write_jsonl
from helpers.sync_helpers import Registry
from fieldapp.domain.synthetic import make_records

COMMUNE_A, COMMUNE_B = "050301", "050302"
PERSON = {"family_name": "សុខ", "given_name": "ដារ៉ា", "family_name_latin": "Sok", "given_name_latin": "Dara",
          "sex": "female", "date_of_birth": "1990-05-01", "village_code": "05030101"}
CHILD = {"family_name": "ចាន់", "given_name": "ស្រីពៅ", "family_name_latin": "Chan", "given_name_latin": "Sreypov",
         "sex": "female", "date_of_birth": "2019-09-30", "relationship": "child", "disability_or_chronic_illness": False}
NEWBORN = {"family_name": "ចាន់", "given_name": "សុភា", "sex": "female", "date_of_birth": "2026-11-20",
           "relationship": "child", "reason": "birth"}


def person(**changes) -> dict:
    rec = make_records(1, seed=13)[0]
    for key in ("national_id", "commune_code", "district_code", "province_code", "address_source"):
        rec.pop(key, None)
    rec.update(PERSON, dependents=[dict(CHILD)], **changes)
    return rec


def laptop(path, registry_url: str, code: str) -> Cli:
    cli = Cli(path)
    cli("init", "--user", "sup", check=True)
    cli("user", "add", "--user", "sup", "--new-user", "ow", "--role", "outreach", "--full-name", "Keo Sophal",
        new_password=OUTREACH_PASSWORD, check=True)
    cli("register", "--user", "sup", "--server", registry_url, "--code", code, check=True)
    return cli


def enroll(cli: Cli, tmp_path, name: str, rec: dict) -> str:
    cli("import", "--user", "ow", write_jsonl(tmp_path / f"{name}.jsonl", [rec]), password=OUTREACH_PASSWORD,
        check=True)
    rid = next(r["id"] for r in cli.json("list", "--user", "sup", "--json") if r["state"] == "submitted")
    cli("review", "--user", "sup", "--approve-all", check=True)
    return rid


def sync(cli: Cli) -> None:
    out = cli("sync", "--json", "--user", "sup")
    assert out.returncode == 0, out.stderr


def listed(cli: Cli, rid: str) -> dict:
    return next(r for r in cli.json("list", "--user", "sup", "--json") if r["id"] == rid)


def new_id(out) -> str:
    """The record ID a command printed (``update``, ``rebase``)."""
    assert out.returncode == 0, out.stderr
    return re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", out.stdout).group(0)


def code_for(registry: Registry, commune: str) -> str:
    return json.loads(registry.cli("enrollment-code", "--communes", commune))["code"]
