"""Sample document models (the shape ``fieldapp.proof.documents`` builds), for the tests, the benchmark and
screenshots: Khmer and English, a household of up to ten, QR texts of realistic length. Synthetic people only."""

from __future__ import annotations

import random

BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
KM_DIGITS = str.maketrans("0123456789", "០១២៣៤៥៦៧៨៩")

#: (Khmer name, Latin name, relationship en, relationship km, age, birth date)
PEOPLE = [
    ("សុខ ដារ៉ា", "SOK DARA", "Member", "សមាជិក", 34, "1992-05-01"),
    ("ចាន់ សុភ័ក្ត្រ", "CHAN SOPHEAK", "Spouse", "ប្ដី/ប្រពន្ធ", 31, "1995-01-12"),
    ("ស្រី ពៅ", "SREY POV", "Child", "កូន", 9, "2017-03-02"),
    ("ហេង សំណាង", "HENG SAMNANG", "Child", "កូន", 7, "2019-08-19"),
    ("គង់ ស្រីល័ក្ខ", "KONG SREYLEAK", "Child", "កូន", 5, "2021-02-27"),
    ("ញឹម ច័ន្ទត្រា", "NHEM CHANTRA", "Child", "កូន", 3, "2023-06-30"),
    ("ម៉ៅ ស្រីនិច្ច", "MAO SREYNICH", "Child", "កូន", 12, "2014-11-04"),
    ("ឡុង ប៊ុនធឿន", "LONG BUNTHOEUN", "Child", "កូន", 15, "2011-09-09"),
    ("ពេជ្រ ចរិយា", "PICH CHARIYA", "Child", "កូន", 17, "2009-04-21"),
    ("ទេព សុវណ្ណ", "TEP SOVANN", "Child", "កូន", 1, "2025-07-15"),
]

TEXT = {
    "en": {"title": "Enrollment acknowledgement", "reference": "Reference", "date": "Date", "office": "Office",
           "by": "Enrolled by", "consent": "Consent", "consent_v": "Signed on paper", "household": "Household",
           "cols": ["Name", "Relationship", "Age"], "next": "What happens next", "follow": "Follow up",
           "scheme": "Scheme", "member_no": "Member no.", "born": "Born", "sex": "Sex", "female": "Female",
           "covered": "Covered", "office_v": "Kouk Roka commune \u2014 Praek Pnov district, Phnom Penh",
           "issuer": "National Social Security Fund (NSSF)",
           "scheme_name": "Voluntary Healthcare Scheme for Self-Employed Workers and Dependents",
           "lines": [["A supervisor at this office checks your enrollment and sends it to the NSSF.",
                      "When the NSSF registers you, this office gives you your member number and your card.",
                      "Keep this slip until you have your card."],
                     ["Ask at this commune office and show this slip or its reference.", "Hotline: 1286"],
                     ["Contribution: 15,600 riel a month, paid with your member number.",
                      "Pay at: ABA Bank, ACLEDA Bank, Wing Bank, Vattanac Bank, ARDB, SME Bank of Cambodia.",
                      "Six months without payment counts as leaving the scheme."]],
           "caption": "Signed by this laptop (device 3F9A21C7)",
           "footer": "Scheme facts version 1 \u00b7 printed 2026-12-04 10:31",
           "card_footer": "Contribution: 15,600 riel a month, paid with your member number. \u00b7 Hotline: 1286"},
    "km": {"title": "បង្កាន់ដៃទទួលការចុះឈ្មោះ", "reference": "លេខយោង", "date": "កាលបរិច្ឆេទ", "office": "ការិយាល័យ",
           "by": "ចុះឈ្មោះដោយ", "consent": "ការយល់ព្រម", "consent_v": "ចុះហត្ថលេខាលើក្រដាស", "household": "គ្រួសារ",
           "cols": ["ឈ្មោះ", "ទំនាក់ទំនង", "អាយុ"], "next": "អ្វីដែលនឹងកើតឡើងបន្ទាប់", "follow": "ការតាមដាន",
           "scheme": "អំពីរបប", "member_no": "លេខសមាជិក", "born": "ថ្ងៃកំណើត", "sex": "ភេទ", "female": "ស្រី",
           "covered": "អ្នកនៅក្នុងបន្ទុក", "office_v": "ឃុំគោករកា \u2014 ខណ្ឌព្រែកព្នៅ រាជធានីភ្នំពេញ",
           "issuer": "បេឡាជាតិរបបសន្តិសុខសង្គម (ប.ស.ស.)",
           "scheme_name": "របបសន្តិសុខសង្គមផ្នែកថែទាំសុខភាព តាមរយៈការបង់ភាគទានដោយស្ម័គ្រចិត្ត "
                          "សម្រាប់អ្នកប្រកបរបរខ្លួនឯង និងអ្នកនៅក្នុងបន្ទុក",
           "lines": [["អ្នកគ្រប់គ្រងនៅការិយាល័យនេះ ពិនិត្យការចុះឈ្មោះរបស់អ្នក ហើយផ្ញើទៅ ប.ស.ស.។",
                      "ពេល ប.ស.ស. ចុះបញ្ជីអ្នក ការិយាល័យនេះនឹងផ្តល់លេខសមាជិក និងប័ណ្ណសមាជិកដល់អ្នក។",
                      "សូមរក្សាប័ណ្ណទទួលស្គាល់នេះ រហូតដល់អ្នកទទួលបានប័ណ្ណសមាជិក។"],
                     ["សាកសួរនៅការិយាល័យឃុំនេះ ដោយបង្ហាញប័ណ្ណនេះ ឬលេខយោងរបស់វា។", "ទូរស័ព្ទទំនាក់ទំនង៖ ១២៨៦"],
                     ["ភាគទាន៖ ១៥ ៦០០ រៀល ក្នុងមួយខែ បង់ដោយប្រើលេខសមាជិករបស់អ្នក។",
                      "កន្លែងបង់៖ ធនាគារ ABA, ACLEDA, Wing, Vattanac, ARDB, SME Bank of Cambodia។",
                      "មិនបង់ភាគទានរយៈពេលប្រាំមួយខែ ត្រូវចាត់ទុកថាបោះបង់របបនេះ។"]],
           "caption": "ចុះហត្ថលេខាដោយកុំព្យូទ័រនេះ (3F9A21C7)",
           "footer": "ព័ត៌មានរបប កំណែ ១ · បោះពុម្ព ០៤-១២-២០២៦ ១០:៣១",
           "card_footer": "ភាគទាន៖ ១៥ ៦០០ រៀល ក្នុងមួយខែ បង់ដោយប្រើលេខសមាជិករបស់អ្នក។ · ទូរស័ព្ទទំនាក់ទំនង៖ ១២៨៦"},
}


def qr_text(prefix: str, length: int, seed: int) -> str:
    """A Base45 text of ``length`` characters starting with ``prefix`` (as the signed payloads look)."""
    rng = random.Random(seed)
    return prefix + "".join(rng.choice(BASE45) for _ in range(length - len(prefix)))


def _digits(text: str, lang: str) -> str:
    return text.translate(KM_DIGITS) if lang == "km" else text


def sample_slip(lang: str = "km", household: int = 4, qr_length: int = 220, seed: int = 1) -> dict:
    t = TEXT[lang]
    rows = []
    for name, latin, rel_en, rel_km, age, _born in PEOPLE[:household]:
        rows.append([f"{name} ({latin})", rel_km if lang == "km" else rel_en, _digits(str(age), lang)])
    return {"kind": "slip", "lang": lang, "title": t["title"], "subtitle": f"{t['issuer']} \u2014 {t['scheme_name']}",
            "reference_label": t["reference"], "reference": "7KQ2M-X9D4R-T",
            "fields": [[t["date"], _digits("2026-12-04", lang)], [t["office"], t["office_v"]],
                       [t["by"], "ស៊ុន សុខលីម" if lang == "km" else "Sun Sokhalim"], [t["consent"], t["consent_v"]]],
            "household_title": t["household"], "household_header": list(t["cols"]), "household": rows,
            "sections": [{"title": t[key], "lines": list(lines)} for key, lines in zip(("next", "follow", "scheme"),
                                                                                        t["lines"])],
            "qr": qr_text("NS1:", qr_length, seed), "qr_caption": t["caption"], "footer": t["footer"]}


def sample_card(lang: str = "km", index: int = 0, dependents: int = 3, qr_length: int = 600,
                name_latin: str | None = None) -> dict:
    t = TEXT[lang]
    name, latin, *_ = PEOPLE[index % len(PEOPLE)]
    deps = []
    for dname, _l, rel_en, rel_km, _age, born in PEOPLE[1:1 + dependents]:
        deps.append(f"{dname} ({rel_km if lang == 'km' else rel_en}, {_digits(born, lang)})")
    return {"kind": "card", "lang": lang, "title": t["scheme_name"], "issuer": t["issuer"],
            "member_no_label": t["member_no"], "member_no": f"KH-REG-{index + 1:06d}", "name": name,
            "name_latin": name_latin or latin, "fields": [[t["born"], _digits(PEOPLE[index % 10][5], lang)],
                                                          [t["sex"], t["female"]]],
            "dependents_title": t["covered"], "dependents": deps, "qr": qr_text("NC1:", qr_length, 100 + index),
            "footer": t["card_footer"]}
