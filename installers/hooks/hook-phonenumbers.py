# PyInstaller hook for phonenumbers (overrides the contrib hook, which collects every submodule): the app only
# parses and validates numbers, so the geocoding, carrier and time-zone tables (about 40 MB) stay out.
from PyInstaller.utils.hooks import collect_submodules

_UNUSED = {"geocoder", "geodata", "carrier", "carrierdata", "timezone", "tzdata"}


def _wanted(name: str) -> bool:
    parts = name.split(".")
    return len(parts) < 2 or parts[1] not in _UNUSED


hiddenimports = collect_submodules("phonenumbers", filter=_wanted)
