"""Child process for the crash tests: saves records in a loop and reports each one only after COMMIT.

Usage: python crash_writer.py DATA_DIR USER SEED MODE  (MODE: save | approve)
Prints ``ready`` once unlocked, then ``saved <record id>`` after each committed save and (MODE approve)
``approved <record id>`` after each committed approval, each line flushed at once. It never stops by
itself: the parent (``test_crash.py``) kills it with SIGKILL after reading its k-th ``saved`` line.
"""

import sys

from fieldapp.store import records

from fieldapp import services
from fieldapp.store.database import Store
from fieldapp.domain.synthetic import make_records


def main() -> None:
    data_dir, user, seed, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    session = Store(data_dir).unlock(user, "correct horse battery")
    print("ready", flush=True)
    n = 0
    while True:
        if mode == "approve":
            pending = records.submitted_ids(session)[:5]
            if pending:
                services.review(session, pending, "approve")
                for rid in pending:
                    print(f"approved {rid}", flush=True)
        for rec in make_records(3, seed=seed * 100000 + n):
            (rid,) = records.import_records(session, [rec])
            print(f"saved {rid}", flush=True)
        n += 1


if __name__ == "__main__":
    main()
