"""`fieldapp members`, `fieldapp update`, `fieldapp rebase` as real processes."""

import json

from fieldapp.store import members
from fieldapp.store.database import Store
from helpers import lookup_tools as lt
from helpers.clitools import OUTREACH_PASSWORD, PASSWORD

OW = ("--user", "ow")


def test_members_update_and_list(initialized, data_dir, tmp_path):
    cli = initialized
    assert "empty" in cli("members", *OW, password=OUTREACH_PASSWORD, check=True).stdout
    dara = dict(lt.clean_records(1, seed=51)[0], family_name="សុខ", given_name="ដារ៉ា", family_name_latin="Sok",
                given_name_latin="Dara")
    with Store(data_dir).unlock("sup", PASSWORD) as sup:
        members.apply_page(sup, lt.page(lt.entries([dara] + lt.clean_records(3, seed=52))))
    found = cli.json("members", "ដារា", "--json", *OW, password=OUTREACH_PASSWORD)
    assert [m["member_no"] for m in found] == ["KH-REG-000001"]
    line = cli("members", "000001", *OW, password=OUTREACH_PASSWORD, check=True).stdout.splitlines()[0]
    assert line.split("\t")[:2] == ["KH-REG-000001", "1"]

    changes = tmp_path / "changes.json"
    changes.write_text(json.dumps({}), encoding="utf-8")
    out = cli("update", "KH-REG-000001", "--changes", changes, "--submit", *OW, password=OUTREACH_PASSWORD)
    assert out.returncode == 1 and "changes nothing" in out.stderr
    draft_id = out.stdout.split()[0]
    changes.write_text(json.dumps({"phone": "012 345 678", "notes": "new phone"}), encoding="utf-8")
    out = cli("update", "KH-REG-000001", "--changes", changes, "--submit", *OW, password=OUTREACH_PASSWORD,
              check=True)
    record_id = out.stdout.split()[0]
    rows = {r["id"]: r for r in cli.json("list", "--json", *OW, password=OUTREACH_PASSWORD)}
    assert rows[record_id]["kind"] == "update" and rows[record_id]["member_ref"] == "KH-REG-000001"
    assert rows[record_id]["state"] == "submitted" and rows[draft_id]["state"] == "draft"
    assert "Update of member no. KH-REG-000001" in cli("list", *OW, password=OUTREACH_PASSWORD, check=True).stdout
    for bad in ("missing.json", changes.with_name("list.json")):
        if str(bad).endswith("list.json"):
            bad.write_text("[1]", encoding="utf-8")
        out = cli("update", "KH-REG-000001", "--changes", bad, *OW, password=OUTREACH_PASSWORD)
        assert out.returncode == 1 and "Traceback" not in out.stderr
    out = cli("update", "KH-REG-999999", "--changes", changes, *OW, password=OUTREACH_PASSWORD)
    assert out.returncode == 1 and "not known" in out.stderr
    out = cli("rebase", record_id, *OW, password=OUTREACH_PASSWORD)
    assert out.returncode == 1 and "cannot be re-based" in out.stderr
    cli("review", "--user", "sup", "--approve", record_id, check=True)
    assert {r["id"]: r for r in cli.json("list", "--json", "--user", "sup")}[record_id]["state"] == "approved"
