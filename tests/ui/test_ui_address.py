"""The address picker, driven from the keyboard: every candidate with its parents, never a silent pick among
several matches, searches that start in the office's area and widen, and corrections that never search inside a
stale parent. Also Settings' "Office commune" and the desktop setting behind it."""

from __future__ import annotations

import pytest
from helpers.ui_forms import OW, WAIT_MS, key_text, offscreen_ok, show_widget, type_into

from fieldapp.base import config as app_config
from fieldapp.base.i18n import tr
from fieldapp.domain import geo
from ui.qt import QApplication, QVBoxLayout, QWidget, Qt
from ui.widgets.address import AddressPicker, office_area

THMA_PUOK = "010704"        # a commune with one village named Svay (01070405)
TONLE_BASAK = "120101"      # a commune of Phnom Penh with no village named Svay
SVAY_IN_THMA_PUOK = "01070405"


class Form(QWidget):
    """An address picker between two line edits, as on the enrollment form."""

    def __init__(self, ctx):
        super().__init__()
        from ui.qt import QLineEdit

        layout = QVBoxLayout(self)
        self.before = QLineEdit(self, objectName="before")
        self.address = AddressPicker(ctx, self)
        self.after = QLineEdit(self, objectName="after")       # created in this order: the Tab order
        for widget in (self.before, self.address, self.after):
            layout.addWidget(widget)


def _form(qtbot, ctx, office=None) -> Form:
    form = show_widget(qtbot, Form(ctx), 1000, 700)
    form.address.set_default(office)
    return form


def press(qtbot, picker, key, modifier=Qt.NoModifier) -> None:
    """A key as a real keyboard delivers it: to the open list while it is shown, else to the field."""
    popup = picker._completer.popup()
    qtbot.keyClick(popup if popup.isVisible() else QApplication.focusWidget() or picker, key, modifier)


def _rows(picker) -> list[str]:
    model = picker._completer.popup().model()
    return [model.index(row, 0).data() for row in range(model.rowCount())]


def _type(qtbot, picker, text: str) -> None:
    type_into(qtbot, picker, text)
    qtbot.waitUntil(lambda: picker.popup_visible() or bool(picker.hint), timeout=WAIT_MS)


@offscreen_ok
def test_every_candidate_names_its_parents_in_the_ui_language(qtbot, store_dir, contexts):
    ctx = contexts(store_dir, OW)
    form = _form(qtbot, ctx)
    village = form.address.pickers["village"]
    _type(qtbot, village, "svay")
    rows = _rows(village)
    assert len(rows) == 50 and rows[0] == "Svay (ស្វាយ) — Thma Puok, Thma Puok, Banteay Meanchey"
    assert all(" — " in row and row.count(", ") == 2 for row in rows)
    assert form.address.hint.text().startswith("392 found in the whole country")
    assert "first 50" in form.address.hint.text()

    ctx.set_language("km")
    form.address.retranslate()
    _type(qtbot, village, "ស្វាយ")
    assert _rows(village)[0] == "ស្វាយ (Svay) — ថ្មពួក, ថ្មពួក, បន្ទាយមានជ័យ"
    assert form.address.hint.text().startswith("រកឃើញ ៣៩២ ទូទាំងប្រទេស")     # Khmer digits
    assert village.accessibleDescription() == form.address.hint.text()


@offscreen_ok
def test_tab_never_picks_one_of_several_and_down_enter_does(qtbot, store_dir, contexts):
    ctx = contexts(store_dir, OW)
    form = _form(qtbot, ctx)
    pickers = form.address.pickers
    village = pickers["village"]
    _type(qtbot, village, "svay")
    press(qtbot, village, Qt.Key_Tab)                       # the first Tab: nothing taken, the list stays open
    assert village.code is None and village.hasFocus() and village.popup_visible()
    assert form.address.hint.text().startswith("Not chosen yet: 392 places match “svay”")
    assert village._completer.popup().footer.text() == form.address.hint.text()   # also at the foot of the list
    press(qtbot, village, Qt.Key_Tab)                       # the second Tab leaves it unchosen
    assert village.code is None and not village.hasFocus() and village.text() == "svay"
    assert form.address.hint.text().startswith("Village not chosen: 392 places match “svay”")
    assert form.address.codes() == {}

    village.setFocus(Qt.BacktabFocusReason)                 # back again: Down opens the list, Down, Enter picks
    qtbot.waitUntil(village.hasFocus, timeout=WAIT_MS)
    press(qtbot, village, Qt.Key_Down)
    assert village.popup_visible()
    press(qtbot, village, Qt.Key_Down)
    press(qtbot, village, Qt.Key_Down)
    press(qtbot, village, Qt.Key_Return)
    second = geo.find("svay", "village").candidates[1]
    assert village.code == second.code and village.hasFocus()
    assert form.address.codes() == {"province_code": second.code[:2], "district_code": second.code[:4],
                                     "commune_code": second.code[:6], "village_code": second.code}
    assert pickers["commune"].text() == "Boeng Reang (បឹងរាំង)"
    assert form.address.hint.text() == "Chosen: " + geo.address_line(second.code, "en")


@offscreen_ok
def test_the_office_area_comes_first_and_a_unique_exact_match_is_taken(qtbot, store_dir, contexts):
    ctx = contexts(store_dir, OW)
    form = _form(qtbot, ctx, office=THMA_PUOK)
    pickers = form.address.pickers
    assert pickers["commune"].code == THMA_PUOK and pickers["village"].code is None
    village = pickers["village"]
    village.setFocus()
    qtbot.waitUntil(village.hasFocus, timeout=WAIT_MS)
    assert form.address.hint.text() == ("Type a name in Khmer or Latin letters; the list shows places in "
                                        "Thma Puok, Thma Puok, Banteay Meanchey first.")
    _type(qtbot, village, "svay")
    assert _rows(village) == ["Svay (ស្វាយ) — Thma Puok, Thma Puok, Banteay Meanchey",
                              "Search the whole country (391 more)…"]
    assert form.address.hint.text() == "1 found in Thma Puok, Thma Puok, Banteay Meanchey. Choose with Down and Enter."
    press(qtbot, village, Qt.Key_Tab)                       # the only one in the area: taken, and Tab moves on
    assert village.code == SVAY_IN_THMA_PUOK and form.after.hasFocus()


@offscreen_ok
def test_the_list_widens_to_the_country_on_request_and_when_the_area_has_none(qtbot, store_dir, contexts):
    ctx = contexts(store_dir, OW)
    form = _form(qtbot, ctx, office=THMA_PUOK)
    village = form.address.pickers["village"]
    _type(qtbot, village, "svay")
    press(qtbot, village, Qt.Key_Up)                        # Up from the top: the last line, "whole country"
    press(qtbot, village, Qt.Key_Return)
    qtbot.waitUntil(lambda: len(_rows(village)) == 50, timeout=WAIT_MS)
    assert village.code is None and village.popup_visible()
    assert _rows(village)[0].startswith("Svay (ស្វាយ) — Thma Puok")  # nearest first
    assert form.address.hint.text().startswith("392 found in the whole country")

    form = _form(qtbot, ctx, office=TONLE_BASAK)               # Phnom Penh: no Svay in this commune
    village = form.address.pickers["village"]
    _type(qtbot, village, "svay")
    assert form.address.hint.text().startswith(
        "No village named “svay” in Tonle Basak, Chamkar Mon, Phnom Penh; showing the whole country (392)")
    assert all(row.endswith("Phnom Penh") for row in _rows(village)[:5])  # nearest first: the same city
    press(qtbot, village, Qt.Key_Tab)
    assert village.code is None and village.popup_visible()


@offscreen_ok
def test_enter_on_the_form_holds_on_an_ambiguous_name(qtbot, store_dir, contexts):
    from ui.screens.enroll import EnrollScreen

    ctx = contexts(store_dir, OW)
    screen = show_widget(qtbot, EnrollScreen(ctx))
    village = screen.widgets["address"].pickers["village"]
    _type(qtbot, village, "svay")
    press(qtbot, village, Qt.Key_Escape)                    # the list closed: Enter reaches the form's filter
    assert not village.popup_visible()
    press(qtbot, village, Qt.Key_Return)
    assert village.hasFocus() and village.code is None and village.popup_visible()
    press(qtbot, village, Qt.Key_Escape)
    press(qtbot, village, Qt.Key_Return)                    # a second Enter moves on, unchosen
    assert not village.hasFocus() and village.code is None


@offscreen_ok
def test_correcting_a_returned_address_clears_below_and_searches_beyond_the_old_district(qtbot, store_dir,
                                                                                          contexts):
    ctx = contexts(store_dir, OW)
    form = _form(qtbot, ctx)
    address = form.address
    address.set_codes({"village_code": SVAY_IN_THMA_PUOK})      # a returned record's address
    commune = address.pickers["commune"]
    commune.setFocus()
    commune.selectAll()
    key_text(qtbot, commune, "t")                             # typing over the commune ...
    assert address.pickers["village"].text() == "" and address.pickers["village"].code is None  # ... clears below
    assert address.pickers["district"].code == "0107"        # the levels above stay
    key_text(qtbot, commune, "onle basak")
    # Tonle Basak is in Phnom Penh: nothing in the old district, so the whole country, saying so
    assert address.hint.text().startswith("No commune named “tonle basak” in Thma Puok, Banteay Meanchey; "
                                          "showing the whole country")
    press(qtbot, commune, Qt.Key_Tab)                         # the only match: taken
    assert commune.code == TONLE_BASAK
    assert address.codes() == {"province_code": "12", "district_code": "1201", "commune_code": TONLE_BASAK}
    assert address.pickers["district"].text().startswith("Chamkar Mon")
    assert address.area_for("village") == TONLE_BASAK       # the village search starts in the new commune


@offscreen_ok
def test_picking_a_village_elsewhere_replaces_every_parent(qtbot, store_dir, contexts):
    ctx = contexts(store_dir, OW)
    form = _form(qtbot, ctx, office=TONLE_BASAK)
    village = form.address.pickers["village"]
    _type(qtbot, village, "០១០៧០៤០៥")                          # a code, in Khmer digits
    press(qtbot, village, Qt.Key_Return)
    assert form.address.codes()["commune_code"] == THMA_PUOK
    assert form.address.pickers["province"].text() == "Banteay Meanchey (បន្ទាយមានជ័យ)"


@offscreen_ok
def test_settings_office_commune_is_saved_and_starts_the_form_there(qtbot, store_dir, contexts):
    from ui.widgets.office_area import OfficeCommuneField

    ctx = contexts(store_dir, OW)
    field = show_widget(qtbot, OfficeCommuneField(ctx), 700, 200)
    assert field.picker.text() == "" and not field.picker.isReadOnly()
    assert field.note.text() == tr("forms.office.info", "en")
    _type(qtbot, field.picker, "thma")
    assert field.note.text() == tr("forms.office.not_chosen", "en")
    press(qtbot, field.picker, Qt.Key_Escape)
    press(qtbot, field.picker, Qt.Key_Return)                 # the list closed: Enter opens it again, nothing taken
    assert field.picker.code is None and field.picker.popup_visible()
    key_text(qtbot, field.picker, " puok")
    press(qtbot, field.picker, Qt.Key_Return)                 # a commune and its district share the name: 1 commune
    assert field.picker.code == THMA_PUOK
    assert field.note.text() == "Address searches on the form start in Thma Puok, Thma Puok, Banteay Meanchey."
    assert ctx.config.office_commune == THMA_PUOK == app_config.load(store_dir).office_commune
    assert office_area(ctx) == THMA_PUOK
    form = _form(qtbot, ctx, office=office_area(ctx))
    assert form.address.pickers["commune"].code == THMA_PUOK
    field.picker.setFocus()
    qtbot.keyClick(field.picker, Qt.Key_A, Qt.ControlModifier)
    qtbot.keyClick(field.picker, Qt.Key_Backspace)
    press(qtbot, field.picker, Qt.Key_Tab)                    # emptied: no office commune any more
    assert app_config.load(store_dir).office_commune is None and office_area(ctx) is None


@offscreen_ok
def test_provisioned_area_wins_and_is_read_only(qtbot, store_dir, contexts, monkeypatch):
    from fieldapp.deploy import provisioned
    from ui.widgets.office_area import OfficeCommuneField

    monkeypatch.setattr(provisioned, "default_address",
                        lambda _d: {"province": "12", "district": "1201", "commune": TONLE_BASAK})
    ctx = contexts(store_dir, OW)
    ctx.save_config(office_commune=THMA_PUOK)
    assert office_area(ctx) == TONLE_BASAK
    field = show_widget(qtbot, OfficeCommuneField(ctx), 700, 200)
    assert field.picker.isReadOnly() and field.picker.code == TONLE_BASAK
    assert field.note.text() == tr("forms.office.set_by_it", "en")
    ctx.set_language("km")
    field.retranslate()
    assert field.note.text() == tr("forms.office.set_by_it", "km")


@pytest.mark.parametrize("value", ["01070", "0107041", "០១០៧០៤", "010704\n", 10704, None, ["010704"]])
def test_config_office_commune_is_six_ascii_digits_or_nothing(tmp_path, value):
    data = tmp_path / "data"
    app_config.update(data, office_commune=value)
    assert app_config.load(data).office_commune is None
    assert app_config.update(data, office_commune="010704").office_commune == "010704"


@offscreen_ok
def test_settings_screen_has_the_office_commune_after_the_idle_minutes(harness):
    harness.login()
    settings = harness.show("settings")
    assert settings.office_label.text() == "Office commune"
    assert settings.office_label.buddy() is settings.office.picker
    settings.idle.setFocus()
    harness.qtbot.waitUntil(settings.idle.hasFocus, timeout=WAIT_MS)
    harness.qtbot.keyClick(QApplication.focusWidget(), Qt.Key_Tab)
    assert QApplication.focusWidget() is settings.office.picker
    harness.ctx.set_language("km")
    assert settings.office_label.text() == tr("forms.office.label", "km")
    assert settings.office.note.text() == tr("forms.office.info", "km")
