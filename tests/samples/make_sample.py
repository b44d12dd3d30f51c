"""Write a sample store of one released schema version (run once per release; the output is committed).

    python tests/samples/make_sample.py VERSION

Creates tests/samples/schema-vVERSION/ holding a store made by the migrations up
to VERSION, with supervisor ``sup`` and outreach worker ``ow`` (passwords in
SAMPLE_PASSWORDS below) and 40 records in every state that version knows.
Never regenerate an existing version's sample: it stands for stores in the field.
tests/samples/README.md lists every sample (also release-0.1.0, made by make_release_sample.py).
"""

import json
import shutil
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The one import-path change in tests/: this script is run by hand (``python tests/samples/make_sample.py N``), not
# by pytest, so the project's pythonpath setting does not apply.
sys.path.insert(0, str(ROOT))

from fieldapp.store import records, users  # noqa: E402

from fieldapp import services
from fieldapp.store.database import Store  # noqa: E402
from fieldapp.domain.synthetic import make_records  # noqa: E402

SAMPLE_PASSWORDS = {"sup": "sample supervisor", "ow": "sample outreach"}
KDF = {"name": "argon2id", "memory_kib": 65536, "iterations": 3, "lanes": 4}


def main(version: int) -> None:
    target = Path(__file__).parent / f"schema-v{version}"
    if target.exists():
        shutil.rmtree(target)
    store = Store(target, schema_target=version)
    session = store.create("sup", SAMPLE_PASSWORDS["sup"], "Sample Supervisor", kdf=KDF)
    users.add_user(session, "ow", SAMPLE_PASSWORDS["ow"], "outreach")
    session.close()
    recs = make_records(40, seed=version * 7, today=date(2026, 11, 1))
    with store.unlock("ow", SAMPLE_PASSWORDS["ow"]) as ow:
        ids = records.import_records(ow, recs[:36], today=date(2026, 11, 1))
        records.save_draft(ow, recs[36])
    with store.unlock("sup", SAMPLE_PASSWORDS["sup"]) as sup:
        services.review(sup, ids[:20], "approve")
        services.review(sup, ids[20:24], "return", "sample return reason")
        services.review(sup, ids[24:26], "reject", "sample reject reason")
        assert sup.conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] == version
        sup.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for extra in ("lockout.json", "lockout.lock", "logs"):
        path = target / extra
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    (target / "expected.json").write_text(json.dumps({"version": version, "records": 37, "approved": 20,
                                                      "returned": 4, "rejected": 2, "submitted": 10, "draft": 1}))


if __name__ == "__main__":
    main(int(sys.argv[1]))
