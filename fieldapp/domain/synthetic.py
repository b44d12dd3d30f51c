"""Synthetic enrollment records for demos, tests and benchmarks (no real person's data).

Names are common Khmer family and given names with their usual romanisation;
addresses are real village codes picked at random from the gazetteer; national
IDs and phone numbers are random but well-formed.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

FAMILY = [("សុខ", "Sok"), ("ចាន់", "Chan"), ("ហេង", "Heng"), ("លី", "Ly"), ("គឹម", "Kim"), ("ស៊ុន", "Sun"),
          ("ម៉ៅ", "Mao"), ("ពៅ", "Pov"), ("ឈិម", "Chhim"), ("នួន", "Nuon"), ("អ៊ុំ", "Um"), ("យិន", "Yin"),
          ("ទេព", "Tep"), ("សៀង", "Sieng"), ("ព្រំ", "Prum"), ("ខៀវ", "Khiev"), ("អ៊ូច", "Ouch"), ("ជា", "Chea"),
          ("សេង", "Seng"), ("ណុប", "Nop"), ("វង្ស", "Vong"), ("ឡុង", "Long"), ("ម៉ម", "Mom"), ("ហ៊ុន", "Hun")]
GIVEN_F = [("ស្រីមុំ", "Sreymom"), ("សុភា", "Sophea"), ("ចាន់ថា", "Chantha"), ("ធីតា", "Thida"),
           ("សុខា", "Sokha"), ("បុប្ផា", "Bopha"), ("ស្រីពៅ", "Sreypov"), ("រតនា", "Rattana"), ("ម៉ាលី", "Maly"),
           ("សុភាព", "Sopheap"), ("ចន្ទ្រា", "Chantrea"), ("វណ្ណា", "Vanna"), ("លីដា", "Lida"), ("ដាវី", "Davy")]
GIVEN_M = [("ដារា", "Dara"), ("វិចិត្រ", "Vichet"), ("សុផល", "Sophal"), ("រិទ្ធ", "Rith"), ("ពិសិដ្ឋ", "Piseth"),
           ("សម្បត្តិ", "Sambath"), ("វណ្ណៈ", "Vannak"), ("បូរ៉ា", "Bora"), ("សុវណ្ណ", "Sovann"), ("ចក្រា", "Chakra"),
           ("ភារម្យ", "Phearom"), ("រដ្ឋា", "Rotha"), ("សុខុម", "Sokhom"), ("វុទ្ធី", "Vuthy")]
OCCUPATIONS = ["market_vendor", "street_vendor", "tuk_tuk_driver", "moto_taxi_driver", "construction_worker",
               "farmer", "fisher", "home_based_worker", "domestic_worker", "hairdresser_beautician"]


def _village_codes() -> list[str]:
    from fieldapp.domain import geo

    codes = []
    for province in geo.children(None)[:6]:
        for district in geo.children(province.code)[:3]:
            for commune in geo.children(district.code)[:3]:
                codes += [v.code for v in geo.children(commune.code)[:4]]
    return codes


def _dob(rng: random.Random, today: date, low: int, high: int) -> str:
    days = rng.randint(low * 366, high * 365)
    return (today - timedelta(days=days)).isoformat()


def _person(rng: random.Random, today: date, sex: str, low: int, high: int) -> dict:
    family = rng.choice(FAMILY)
    given = rng.choice(GIVEN_F if sex == "female" else GIVEN_M)
    return {"family_name": family[0], "given_name": given[0], "family_name_latin": family[1],
            "given_name_latin": given[1], "sex": sex, "date_of_birth": _dob(rng, today, low, high)}


def make_records(n: int, seed: int = 1, today: date | None = None, unique_ids: bool = True) -> list[dict]:
    """``n`` valid records in the interchange format (JSON-ready dicts)."""
    rng = random.Random(seed)
    today = today or date.today()
    villages = _village_codes()
    used_ids: set[str] = set()
    out = []
    for i in range(n):
        sex = rng.choice(("female", "male"))
        rec = _person(rng, today, sex, 18, 70)
        nid = None
        if rng.random() < 0.8:
            while nid is None or (unique_ids and nid in used_ids):
                nid = f"{rng.randint(10**8, 10**9 - 1)}"
            used_ids.add(nid)
        rec.update({
            "national_id": nid,
            "phone": f"0{rng.choice(['12', '17', '77', '89', '11', '10', '15', '92'])}{rng.randint(100000, 999999)}",
            "village_code": rng.choice(villages),
            "occupation": rng.choice(OCCUPATIONS),
            "employment_status": "self_employed",
            "dependents": [],
            "consent": {"given": True, "method": rng.choice(["signature", "thumbprint", "verbal_witnessed"]),
                        "recorded_at": today.isoformat()},
        })
        if rng.random() < 0.1:
            rec["idpoor_household_id"] = f"ID-{rng.randint(1000, 99999)}"
        if rng.random() < 0.5:
            spouse = _person(rng, today, "male" if sex == "female" else "female", 18, 70)
            rec["dependents"].append(dict(spouse, relationship="spouse", disability_or_chronic_illness=False))
        for _ in range(rng.choice((0, 0, 1, 2, 3))):
            child = _person(rng, today, rng.choice(("female", "male")), 1, 16)
            rec["dependents"].append(dict(child, relationship="child", disability_or_chronic_illness=False))
        if rec["national_id"] is None:
            del rec["national_id"]
        out.append(rec)
    return out
