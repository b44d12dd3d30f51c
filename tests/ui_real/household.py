"""What the real-input tests and ``bench/bench_ui.py`` type: a household, the keys that enter it, what must be stored.

``enroll_steps(people, lang)`` is the enrollment form's key path, written down once (the form's own description of
it is the docstring of ``ui/screens/enroll.py``): from Home, Ctrl+2, then each field in Tab order. The member's
Latin names are typed over the spelling the form suggests; the dependents' suggested spellings are kept with Tab.
In the Khmer UI every digit is typed as a Khmer digit and the village is searched for in Khmer. When the form's
key path changes, this is the one place to change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PASSWORD = "correct horse battery"   # the supervisor's
OUTREACH_PASSWORD = "outreach pass 1"
SUPERVISOR, OUTREACH = "sup", "ow"
SUPERVISOR_NAME, OUTREACH_NAME = "Sok Dara", "Chan Sophea"
KHMER_DIGITS = str.maketrans("0123456789", "០១២៣៤៥៦៧៨៩")
SEX_KEYS = {"en": {"female": "f", "male": "m"},      # a closed list takes the first letter typed
            "km": {"female": "ស", "male": "ប"}}       # ស្រី, ប្រុស
OCCUPATION_DOWNS = {"food_seller": 3}                # "— Choose —", market vendor, street vendor, food seller
METHOD_DOWNS = {"signature": 1, "thumbprint": 2}


@dataclass
class Person:
    family_name: str
    given_name: str
    family_name_latin: str
    given_name_latin: str
    sex: str
    date_of_birth: str                     # as stored: YYYY-MM-DD (typed as D/M/YYYY, as people write it)
    relationship: str | None = None        # None for the member
    type_latin: bool = False               # type the Latin names (else keep the form's suggestion)

    def typed_date(self, lang: str) -> str:
        year, month, day = self.date_of_birth.split("-")
        text = f"{int(day)}/{int(month)}/{year}"
        return text.translate(KHMER_DIGITS) if lang == "km" else text


@dataclass
class Household:
    member: Person
    dependents: list[Person] = field(default_factory=list)
    national_id: str = "012345678"
    phone: str = "012345678"
    phone_stored: str = "+85512345678"
    village: dict = field(default_factory=lambda: {"en": "Rumpeun", "km": "រំពើន"})
    village_code: str = "07020702"         # Rumpeun, Sdach Kung Khang Lech, Banteay Meas, Kampot (one of its name)
    occupation: str = "food_seller"
    employment_status: str = "self_employed"   # the form's default
    consent_method: str = "signature"

    def expected(self) -> dict:
        """The stored record's fields that the keys above must produce (the rest is derived or the form's)."""
        m = self.member
        out = {"family_name": m.family_name, "given_name": m.given_name, "family_name_latin": m.family_name_latin,
               "given_name_latin": m.given_name_latin, "sex": m.sex, "date_of_birth": m.date_of_birth,
               "national_id": self.national_id.replace(" ", ""), "phone": self.phone_stored,
               "village_code": self.village_code, "occupation": self.occupation,
               "employment_status": self.employment_status, "consent.given": True,
               "consent.method": self.consent_method}
        for i, d in enumerate(self.dependents):
            for key in ("family_name", "given_name", "family_name_latin", "given_name_latin", "sex",
                        "date_of_birth", "relationship"):
                out[f"dependents[{i}].{key}"] = getattr(d, key)
            out[f"dependents[{i}].disability_or_chronic_illness"] = False
        return out


ONE_PERSON = Household(
    member=Person("សុខ", "វិចិត្រ", "Sok", "Vicheth", "male", "1990-01-15", type_latin=True))

HOUSEHOLD = Household(
    member=Person("សុខ", "វិចិត្រ", "Sok", "Vicheth", "male", "1990-01-15", type_latin=True),
    dependents=[
        Person("ចាន់", "សុភា", "Chan", "Sophea", "female", "1992-03-20", relationship="spouse"),
        Person("សុខ", "ដារា", "Sok", "Dara", "male", "2015-06-01", relationship="child"),
        Person("សុខ", "ស្រីមុំ", "Sok", "Sreymom", "female", "2018-10-10", relationship="child"),
    ])

ADD_KEYS = {"spouse": "ctrl+shift+s", "child": "ctrl+shift+c"}


def _digits(text: str, lang: str) -> str:
    return text.translate(KHMER_DIGITS) if lang == "km" else text


def _person_fields(p: Person, lang: str, sex_default: str | None = None) -> list:
    """Family and given name (Khmer), their Latin spellings, sex, date of birth; the focus ends in the date."""
    steps = [("type", p.family_name), ("key", "Tab"), ("type", p.given_name), ("key", "Tab")]
    if p.type_latin:
        steps += [("type", p.family_name_latin), ("key", "Tab"), ("type", p.given_name_latin), ("key", "Tab")]
    else:
        steps += [("key", "Tab", "Tab")]
    if p.sex != sex_default:
        steps += [("type", SEX_KEYS[lang][p.sex])]
    steps += [("key", "Tab"), ("type", p.typed_date(lang))]
    return steps


def enroll_steps(h: Household, lang: str) -> list:
    """The keys from Home to Submit (Ctrl+Enter), with no wait anywhere: a trained worker's route."""
    steps = [("key", "ctrl+2")]
    steps += _person_fields(h.member, lang)
    steps += [("key", "Tab"), ("type", _digits(h.national_id, lang)), ("key", "Tab"),
              ("type", _digits(h.phone, lang))]
    # address: province, district, commune, then the village, searched for by name; Down highlights the first
    # line of the list and Tab takes it and moves on to the occupation
    steps += [("key", "Tab", "Tab", "Tab", "Tab"), ("type", h.village[lang]), ("key", "Down", "Tab")]
    steps += [("key", *["Down"] * OCCUPATION_DOWNS[h.occupation])]
    for d in h.dependents:
        default = {"female": "male", "male": "female"}[h.member.sex] if d.relationship == "spouse" else None
        steps += [("key", ADD_KEYS[d.relationship])] + _person_fields(d, lang, sex_default=default)
    # on to consent (past employment status, which keeps its default, and the add buttons; Add spouse is gone
    # once there is a spouse): check it, choose the method, submit
    steps += [("key", "Tab", "Tab") if h.dependents else ("key", "Tab", "Tab", "Tab", "Tab"),
              ("key", "space", "Tab", *["Down"] * METHOD_DOWNS[h.consent_method]), ("key", "ctrl+Return")]
    return steps


def count_keys(steps) -> int:
    return sum(len(args[0]) if kind == "type" else len(args) for kind, *args in steps)


def flatten(record: dict) -> dict:
    """A stored record's data as ``{"path": value}`` in the paths of ``Household.expected``."""
    out = {k: v for k, v in record.items() if not isinstance(v, (dict, list))}
    for k, v in (record.get("consent") or {}).items():
        out[f"consent.{k}"] = v
    for i, d in enumerate(record.get("dependents") or []):
        for k, v in d.items():
            out[f"dependents[{i}].{k}"] = v
    return out
