"""No personal data in plaintext anywhere on disk after a full day's CLI workflow."""

import pytest

from helpers.clitools import OUTREACH_PASSWORD, write_jsonl
from fieldapp.domain.synthetic import make_records
from helpers.planted import files_scanned, needles_of, scan


def test_scanner_finds_planted_data(tmp_path):
    recs = make_records(2, seed=1)
    (tmp_path / "leak.log").write_text("saved " + recs[1]["dependents"][0]["given_name"] if recs[1]["dependents"]
                                       else "saved " + recs[1]["given_name"], encoding="utf-8")
    (tmp_path / "leak16.tmp").write_bytes(recs[0]["phone"].encode("utf-16-le"))
    found = scan([tmp_path], needles_of(recs))
    assert any("leak.log" in f for f in found) and any("leak16.tmp" in f and "phone" in f for f in found)


@pytest.mark.slow
def test_no_plaintext_under_the_data_folder_or_temp(initialized, tmp_path):
    cli = initialized
    recs = make_records(1000, seed=21)
    (tmp_path / "import").mkdir()
    src = write_jsonl(tmp_path / "import" / "people.jsonl", recs)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {"TMPDIR": tmp, "TEMP": tmp, "TMP": tmp}
    cli("import", "--user", "ow", src, password=OUTREACH_PASSWORD, check=True, **env)
    cli("list", "--user", "ow", "--json", password=OUTREACH_PASSWORD, check=True, **env)
    cli("review", "--user", "sup", "--approve-all", check=True, **env)
    cli("verify", "--user", "sup", check=True, **env)
    cli("status", "--user", "sup", "--json", check=True, **env)
    needles = needles_of(recs)
    assert len(needles) > 3000
    assert files_scanned([cli.data_dir]) >= 3  # database, key slots, log at least
    assert scan([cli.data_dir, tmp], needles) == []
    assert (cli.data_dir / "logs" / "fieldapp.log").exists()
