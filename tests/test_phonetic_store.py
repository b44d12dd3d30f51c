"""Names spelled two ways in the store: search finds both spellings, the duplicate check flags a same-sounding name,
and migration 5 gives records stored before it their phonetic keys."""

import shutil
from pathlib import Path

import pytest

from fieldapp.base.i18n import has_message
from fieldapp.domain.khmer import match_key, phonetic_key
from fieldapp.domain.synthetic import make_records
from fieldapp.store import migrations, records, search, users
from fieldapp.store.database import Store

SAMPLES = Path(__file__).parent / "samples"


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "data")
    session = s.create("sup", "supervisor pw")
    users.add_user(session, "ow", "outreach pw", "outreach")
    session.close()
    return s


def person(seed: int, family: str, given: str, **extra) -> dict:
    rec = make_records(1, seed=seed)[0]
    rec.pop("national_id", None)
    return dict(rec, family_name=family, given_name=given, **extra)


def test_darah_spelled_either_way_finds_both(store):
    """Issue 11, finding 14: ដារ៉ា found nothing where ដារា found six records."""
    recs = [person(1, "សុខ", "ដារា"), person(2, "ហេង", "ដារា"), person(3, "ចាន់", "ដារ៉ា"), person(4, "លី", "សុខា")]
    with store.unlock("ow", "outreach pw") as ow:
        ids = records.import_records(ow, recs)
        draft = records.save_draft(ow, {"family_name": "ស៊ុន", "given_name": "ដារ៉ា\u200b"})
        for query in ("ដារ៉ា", "ដារា", "ដា\u200bរ៉ា"):
            found = {r["id"] for r in search.search(ow, query)}
            assert found == set(ids[:3]) | {draft}, query
            assert search.count(ow, query) == 4
        assert {r["id"] for r in search.search(ow, "ចាន់ ដារា")} == {ids[2]}        # family and given name
        assert {r["id"] for r in search.search(ow, "ដារាចាន់")} == {ids[2]}          # given name first
        assert {r["id"] for r in search.search(ow, "សុខា")} == {ids[3]}             # Sokha is not Sok
        assert search.search(ow, "dara") == []  # a Latin query is not read as Khmer


def test_variant_spellings_of_common_names(store):
    recs = [person(5, "សាន្ត", "វិចិត្រ"), person(6, "ឡុង", "សុភា"), person(7, "វង្ស", "ពិសិដ្ឋ")]
    with store.unlock("ow", "outreach pw") as ow:
        ids = records.import_records(ow, recs)
        for query, rid in (("សាន វិចិត", ids[0]), ("លុង សោភា", ids[1]), ("ទ្បុង", ids[1]), ("វង ពិសិទ្ធ", ids[2]),
                           ("ពិសិទ្ធ វង្ស៍", ids[2])):
            assert [r["id"] for r in search.search(ow, query)] == [rid], query


def test_ids_phones_and_latin_names_are_searched_as_before(store):
    rec = person(8, "ហេង", "ដារ៉ា", given_name_latin="Dara", national_id="123456789", phone="012 345 678")
    with store.unlock("ow", "outreach pw") as ow:
        rid = records.import_records(ow, [rec, person(9, "សុខ", "ធីតា")])[0]
        for query in ("123456789", "012 345 678", "+855 12 345 678", "DARA", "០១២៣៤៥៦៧៨"):
            assert [r["id"] for r in search.search(ow, query)] == [rid], query


def test_the_records_order_is_unchanged_by_phonetic_matches(store):
    with store.unlock("ow", "outreach pw") as ow:
        ids = records.import_records(ow, [person(10 + i, "សុខ", ("ដារា", "ដារ៉ា")[i % 2]) for i in range(6)])
        plain = [r["id"] for r in search.search(ow, "")]
        found = [r["id"] for r in search.search(ow, "ដារ៉ា")]
    assert found == [rid for rid in plain if rid in ids]


def test_duplicate_check_flags_a_same_sounding_name(store):
    base = person(20, "ឡុង", "ដារា")
    with store.unlock("ow", "outreach pw") as ow:
        first = records.import_records(ow, [base])[0]
        same = records.import_records(ow, [dict(base)])[0]
        similar = records.import_records(ow, [dict(base, family_name="លុង", given_name="ដារ៉ា")])[0]
        other_day = records.import_records(ow, [dict(base, given_name="ដារ៉ា", date_of_birth="1970-01-01")])[0]
        other_name = records.import_records(ow, [dict(base, given_name="សុខា")])[0]
        dups = {rid: records.get(ow, rid)["duplicates"] for rid in (same, similar, other_day, other_name)}
        preview = records.duplicate_candidates(ow, dict(base, family_name="លុង", given_name="ដារ៉ា"))
    assert dups[same] == [{"record_id": first, "reasons": ["name_date_of_birth_commune"]}]
    assert {"record_id": first, "reasons": ["similar_name_date_of_birth_commune"]} in dups[similar]
    assert {"record_id": same, "reasons": ["similar_name_date_of_birth_commune"]} in dups[similar]
    assert dups[other_day] == [] and dups[other_name] == []
    assert {(c["record_id"], tuple(c["reasons"])) for c in preview} >= {
        (first, ("similar_name_date_of_birth_commune",)), (similar, ("name_date_of_birth_commune",))}


def test_every_duplicate_reason_has_words_in_both_languages():
    for reason in records.DUPLICATE_REASONS:
        for lang in ("en", "km"):
            assert has_message(f"forms.dup.reason.{reason}", lang), (reason, lang)


def _variant(name: str) -> str | None:
    """The same name spelled another way (a vowel of the other length, or a register shifter)."""
    candidates = [name.replace(a, b, 1) for a, b in (("ី", "ិ"), ("ិ", "ី"), ("ូ", "ុ"), ("ុ", "ូ"), ("ណ", "ន"))]
    candidates += [name[:i] + "\u17c9" + name[i:] for i in range(1, len(name)) if "\u17b6" <= name[i] <= "\u17c5"]
    for candidate in candidates:
        if match_key(candidate) != match_key(name) and phonetic_key(candidate) == phonetic_key(name):
            return candidate
    return None


@pytest.mark.parametrize("version", [v for v in range(1, migrations.LATEST) if (SAMPLES / f"schema-v{v}").exists()])
def test_migration_5_keys_records_stored_before_it(tmp_path, version):
    data = tmp_path / "data"
    shutil.copytree(SAMPLES / f"schema-v{version}", data)
    with Store(data).unlock("sup", "sample supervisor") as sup:
        rows = sup.conn.execute("SELECT id, state, name_key, phonetic_key FROM records").fetchall()
        assert all((key is None) == (name_key is None) for _, _, name_key, key in rows)
        assert sum(key is not None for *_, key in rows) == sum(state != "draft" for _, state, *_ in rows) > 0
        for rec in records.list_records(sup):
            given = rec["data"].get("given_name")
            variant = _variant(given) if given else None
            if variant:
                assert rec["id"] in {r["id"] for r in search.search(sup, variant, limit=1000)}, variant
                break
        else:
            pytest.fail("no record with a name that has a variant spelling")
