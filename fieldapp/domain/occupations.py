"""Code lists used in enrollment records, with their translated labels.

Codes are stable identifiers stored in records and sent to the registry;
never rename one (add new ones and bump ``OCCUPATIONS_VERSION``). Labels live
in the message catalogs as ``occupation.<code>``, ``sex.<code>``,
``relationship.<code>``, ``employment_status.<code>`` and
``consent_method.<code>``.
"""
from __future__ import annotations

from fieldapp.base.i18n import tr

#: Informal-economy occupations, in the order shown to the user ("other" last).
OCCUPATIONS = (
    "market_vendor",
    "street_vendor",
    "food_seller",
    "small_shop_owner",
    "tuk_tuk_driver",
    "moto_taxi_driver",
    "construction_worker",
    "porter",
    "farmer",
    "fisher",
    "home_based_worker",
    "garment_home_worker",
    "tailor",
    "domestic_worker",
    "hairdresser_beautician",
    "mechanic",
    "waste_picker",
    "other",
)
#: Bump when codes are added; stored alongside exported data.
OCCUPATIONS_VERSION = "2025.1"
OTHER = "other"

EMPLOYMENT_STATUSES = ("self_employed", "informal_wage_worker", "other")
RELATIONSHIPS = ("spouse", "child")
CONSENT_METHODS = ("signature", "thumbprint", "verbal_witnessed")
SEXES = ("female", "male")

#: Message-id prefix of each code list.
_PREFIXES = {
    "occupation": OCCUPATIONS,
    "employment_status": EMPLOYMENT_STATUSES,
    "relationship": RELATIONSHIPS,
    "consent_method": CONSENT_METHODS,
    "sex": SEXES,
}


def label(code: str, lang: str | None = None) -> str:
    """Translated label of an occupation code (the code itself if unknown)."""
    return choice_label("occupation", code, lang)


def choice_label(kind: str, code: str, lang: str | None = None) -> str:
    """Translated label of a code of any list: ``kind`` is one of
    ``occupation``, ``employment_status``, ``relationship``,
    ``consent_method``, ``sex``. Unknown codes come back unchanged."""
    if kind not in _PREFIXES or code not in _PREFIXES[kind]:
        return str(code)
    return tr(f"{kind}.{code}", lang)


def choices(kind: str, lang: str | None = None) -> list[tuple[str, str]]:
    """``[(code, label), ...]`` of one list in display order, e.g. for a combo box."""
    return [(code, tr(f"{kind}.{code}", lang)) for code in _PREFIXES.get(kind, ())]
