"""The member lookup's scenes for ``scripts/screenshots.py`` (issue 13): the enrollment form's duplicate check finding
a member already registered (``lookup-hit``), an update in Review (``update-review``) and a record held for review at
the registry, its plain status in Records (``held-status``).

``add_lookup`` puts their data in the demo store: one looked-up member (a lookup page, as the sync part stores a
verified one), an update of that member adding a newborn, submitted for review, and a record the registry holds.
"""

from __future__ import annotations

from pathlib import Path

from ui.qt import Qt

LOOKUP_MEMBER = {
    "family_name": "ចាន់", "given_name": "សុភាព", "family_name_latin": "Chan", "given_name_latin": "Sopheap",
    "sex": "female", "date_of_birth": "1991-04-12", "national_id": "021345678", "phone": "012777888",
    "village_code": "07020702", "occupation": "food_seller", "employment_status": "self_employed",
    "dependents": [
        {"family_name": "កែវ", "given_name": "មុន្នី", "family_name_latin": "Keo", "given_name_latin": "Monny",
         "sex": "female", "date_of_birth": "2015-09-30", "relationship": "child",
         "disability_or_chronic_illness": False}],
    "consent": {"given": True, "method": "signature", "recorded_at": "2025-01-10"},
}
MEMBER_NO, OFFICE = "KH-REG-000123", "070207"
NEWBORN = {"family_name": "កែវ", "given_name": "សុវណ្ណ", "family_name_latin": "Keo", "given_name_latin": "Sovann",
           "sex": "male", "date_of_birth": "2025-02-03", "relationship": "child",
           "disability_or_chronic_illness": False, "reason": "birth"}
HELD = {"family_name": "ហេង", "given_name": "សុខា", "family_name_latin": "Heng", "given_name_latin": "Sokha",
        "sex": "male", "date_of_birth": "1984-07-21", "phone": "015222333", "village_code": "01070405",
        "occupation": "market_vendor", "employment_status": "self_employed", "dependents": [],
        "consent": {"given": True, "method": "thumbprint", "recorded_at": "2026-01-12"}}
DATA = tuple(p[k] for p in (LOOKUP_MEMBER, *LOOKUP_MEMBER["dependents"], NEWBORN, HELD)
             for k in ("family_name_latin", "given_name_latin")) + (MEMBER_NO,)


def ensure_member(session) -> None:
    """The looked-up member in the store (again: the demo registry's own lookup pages, fetched by the background
    sync, may start over without it), as one page that follows the store's cursor."""
    from fieldapp.domain.member import lookup_entry
    from fieldapp.domain.validation import validate_record
    from fieldapp.store import members

    if members.get(session, MEMBER_NO) is not None:
        return
    clean, _problems = validate_record(LOOKUP_MEMBER)
    entry = lookup_entry(clean, MEMBER_NO, 2, office_commune=OFFICE, registered_on="2025-02-03")
    cursor, area_id = members.cursor(session)
    members.apply_page(session, {
        "format": "fieldapp-lookup", "v": 1, "device_id": "demo", "area": [OFFICE],
        "area_id": area_id or "0123456789abcdef", "since": cursor, "cursor": cursor, "reset": not area_id,
        "more": False, "members": [entry], "removed": [], "issued_at": "2026-01-15T00:00:00Z"})


def add_lookup(data_dir: Path, accounts: dict) -> dict:
    """The looked-up member, its update (submitted) and a held record; returns their IDs."""
    from fieldapp.store import records, updates
    from fieldapp.store.database import Store

    store = Store(data_dir)
    with store.unlock("supervisor", accounts["supervisor"]) as sup:
        ensure_member(sup)
    with store.unlock("outreach", accounts["outreach"]) as ow:
        update_id = updates.new_update(ow, MEMBER_NO, {"add_dependents": [NEWBORN], "phone": "012555666"})
        records.submit(ow, update_id)
        (held_id,) = records.import_records(ow, [HELD])
    with store.unlock("supervisor", accounts["supervisor"]) as sup:
        with sup.write() as tx:  # as the registry's status answer leaves it: sent, held for review there
            tx.execute("UPDATE records SET state = 'synced', reason = 'held_for_review' WHERE id = ?", (held_id,))
    return {"update": update_id, "held": held_id}


class LookupScenes:
    """Mixed into ``screenshot_scenes.Pass``."""

    def lookup_scenes(self, lang: str, ids: dict) -> None:
        self.ctx.worker.run(ensure_member, on_error=lambda exc: self.notes.append(f"lookup: {type(exc).__name__}"))
        self.pump(what="the looked-up member")
        self.lookup_hit(lang)
        self.update_review(lang, ids["update"])
        self.held_status(lang)

    def lookup_hit(self, lang: str) -> None:
        """The same person typed again on the enrollment form (no ID card), Submit: "Already registered"."""
        self.key(Qt.Key_2, Qt.ControlModifier)
        enroll = self.window.workspace.screens["enroll"]
        self.pump(until=lambda: enroll.widgets["family_name"].hasFocus(), what="the enrollment form")
        data = {k: v for k, v in LOOKUP_MEMBER.items() if k not in ("national_id", "dependents")}
        enroll.fill(dict(data, dependents=[]))
        self.pump(settle=0.2)
        self.key(Qt.Key_Return, Qt.ControlModifier)
        self.pump(until=lambda: enroll.duplicates_dialog is not None and enroll.duplicates_dialog.isVisible(),
                  what="the duplicate check")
        dialog = enroll.duplicates_dialog
        if dialog is None:
            self.notes.append(f"{self.name('lookup-hit', lang)}: no duplicate dialog")
            return
        self.pump(settle=0.5)
        self.shoot("lookup-hit", lang)
        dialog.reject()
        self.pump(until=lambda: enroll.duplicates_dialog is None, settle=0.2)
        enroll.discard_button.click()
        self.pump(until=lambda: enroll.discard_dialog is not None, settle=0.1, what="the discard question")
        from ui.qt import QtWidgets

        enroll.discard_dialog.findChild(QtWidgets.QPushButton, "discard_yes").click()
        self.pump(until=lambda: enroll.record_id is None, what="the draft to be discarded")

    def update_review(self, lang: str, record_id: str) -> None:
        """Review with the update chosen and opened across the screen (Enter)."""
        review = self.open_in_review("update-review", lang, record_id)
        if review is None:
            return
        self.shoot("update-review", lang)
        self.key(Qt.Key_Escape)
        self.pump(until=lambda: not review.expanded, settle=0.1)

    def held_status(self, lang: str) -> None:
        """Records searched for the held person: "Held for review at the registry" in the list and the record."""
        records = self.open_in_records("held-status", lang, HELD["family_name_latin"] + " " + HELD["given_name_latin"])
        if records is None:
            return
        page = records.record_page
        self.shoot("held-status", lang)
        self.key(Qt.Key_Escape, widget=page.view)
        records.search.clear()
        self.pump(settle=0.2)
