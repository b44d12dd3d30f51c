"""Records: search by Khmer name (zero-width spaces and all), Latin name, phone and ID; filters; 100,000 rows."""

from __future__ import annotations

from helpers.ui_forms import (OW, SUP, WAIT_MS, choose, insert_bulk, offscreen_ok, person, show_widget,
                              store_records, type_into)

from ui.qt import QComboBox, QLineEdit, Qt, QWidget
from ui.screens.records import RecordsScreen


def _settled(screen, text: str) -> bool:
    model = screen.model
    return model.query.get("text") == text and not model.loading and model.pages_loaded > 0


def _search(qtbot, screen, text: str) -> list[str]:
    type_into(qtbot, screen.search, text)
    qtbot.waitUntil(lambda: _settled(screen, text), timeout=WAIT_MS)
    return [row["name_latin"] for row in screen.model.rows()]


@offscreen_ok
def test_search_by_khmer_latin_name_phone_and_id(qtbot, store_dir, contexts):
    sok = person(seed=21, family_name="សុខ", given_name="ស្រីមុំ", family_name_latin="Sok",
                 given_name_latin="Sreymom", phone="012345678", national_id="123456789")
    chan = person(seed=22, family_name="ចាន់", given_name="ដារា", family_name_latin="Chan",
                  given_name_latin="Dara", phone="017888999", national_id="223456789")
    store_records(store_dir, [sok, chan])
    ctx = contexts(store_dir, OW)
    screen = show_widget(qtbot, RecordsScreen(ctx))
    screen.activate()
    qtbot.waitUntil(lambda: screen.model.rowCount() == 2, timeout=WAIT_MS)

    assert _search(qtbot, screen, "ស្រី\u200bមុំ") == ["Sok Sreymom"]          # zero-width space typed inside
    assert _search(qtbot, screen, "សុខ\u200b ស្រីមុំ") == ["Sok Sreymom"]
    assert _search(qtbot, screen, "dara") == ["Chan Dara"]                    # Latin, any case
    assert _search(qtbot, screen, "Dara Chan") == ["Chan Dara"]               # either name order
    assert _search(qtbot, screen, "012 345 678") == ["Sok Sreymom"]           # phone as written
    assert _search(qtbot, screen, "+855 17 888 999") == ["Chan Dara"]         # international form
    assert _search(qtbot, screen, "០១២៣៤៥៦៧៨") == ["Sok Sreymom"]             # Khmer digits
    assert _search(qtbot, screen, "223456789") == ["Chan Dara"]               # national ID
    assert _search(qtbot, screen, "nobody") == []
    assert sorted(_search(qtbot, screen, "")) == ["Chan Dara", "Sok Sreymom"]

    # filters: state and creation date (Khmer digits accepted; a malformed date says so)
    choose(qtbot, screen.state, "draft")
    qtbot.waitUntil(lambda: screen.model.query.get("state") == "draft" and not screen.model.loading, timeout=WAIT_MS)
    assert screen.model.rowCount() == 0
    choose(qtbot, screen.state, None)
    type_into(qtbot, screen.since, "២៩៩៩-០១-០១")
    qtbot.waitUntil(lambda: screen.model.query.get("since") == "2999-01-01" and not screen.model.loading,
                    timeout=WAIT_MS)
    assert screen.model.rowCount() == 0
    type_into(qtbot, screen.since, "2024-99")
    qtbot.waitUntil(lambda: screen.dates_problem.isVisible(), timeout=WAIT_MS)
    assert screen.model.query.get("since") is None
    assert all(w.accessibleName() for w in (screen.search, screen.state, screen.since, screen.until, screen.table))


@offscreen_ok
def test_hundred_thousand_records_load_in_pages_without_blocking(qtbot, store_dir, contexts):
    """Every query and every page goes to the worker: the UI thread only queues it (nothing here measures time:
    the longest UI-thread stall is a benchmark's figure, bench/)."""
    insert_bulk(store_dir, 100_000)
    ctx = contexts(store_dir, SUP)
    screen = show_widget(qtbot, RecordsScreen(ctx))
    model = screen.model
    assert screen.table.verticalHeader().resizeContentsPrecision() == 0  # columns fitted on the rows on screen

    screen.activate()                                   # opens the screen: the query goes to the worker
    assert model.loading and model.rowCount() == 0      # queued, not run here
    qtbot.waitUntil(lambda: model.rowCount() == 200, timeout=WAIT_MS)
    assert model.canFetchMore() and model.more
    qtbot.waitUntil(lambda: model.total == 100_000, timeout=WAIT_MS)   # counted in a second job
    assert screen.status.text() == "200 of 100000 shown; scroll down for more"

    for pages in range(2, 7):                          # scrolling to the end fetches the next page
        screen.table.scrollToBottom()
        qtbot.waitUntil(lambda p=pages: model.rowCount() == 200 * p, timeout=WAIT_MS)
    assert model.canFetchMore()
    model.fetchMore()
    assert model.loading and model.rowCount() == 1200    # queued, not run here
    qtbot.waitUntil(lambda: model.rowCount() == 1400, timeout=WAIT_MS)
    assert len({row["id"] for row in model.rows()}) == 1400  # no page fetched twice

    # a filter over all of them is also answered off the UI thread, a page at a time
    choose(qtbot, screen.state, "approved")
    qtbot.waitUntil(lambda: model.query.get("state") == "approved" and model.rowCount() == 200, timeout=WAIT_MS)
    assert {row["state"] for row in model.rows()} == {"approved"}

    # and so is a sort by a column: the first page of names in order
    screen.set_order(("name_latin", False))
    qtbot.waitUntil(lambda: model.order == ("name_latin", False) and model.rowCount() == 200 and not model.loading,
                    timeout=WAIT_MS)
    assert {row["state"] for row in model.rows()} == {"approved"}


def _texts(root) -> dict:
    """Visible texts of labels, buttons, group boxes, check boxes and table headers under ``root``."""
    from ui.qt import QAbstractItemView, QCheckBox, QGroupBox, QLabel, QPushButton, QtWidgets

    QListView = QtWidgets.QListView

    out = {}
    for widget in [root] + root.findChildren(QWidget):
        if widget.property("i18n_exempt") or not widget.isVisibleTo(root):
            continue
        if isinstance(widget, (QLabel, QPushButton, QCheckBox)):
            out[(id(widget), "text")] = widget.text()
        elif isinstance(widget, QGroupBox):
            out[(id(widget), "title")] = widget.title()
        if isinstance(widget, QAbstractItemView) and widget.model() is not None and not isinstance(widget, QListView):
            model = widget.model()
            for col in range(model.columnCount()):
                out[(id(widget), col)] = str(model.headerData(col, Qt.Horizontal) or "")
        if widget.accessibleName() and isinstance(widget, (QLineEdit, QComboBox, QAbstractItemView)):
            out[(id(widget), "name")] = widget.accessibleName()
    return {k: v for k, v in out.items() if any(ch.isalpha() for ch in v)}


@offscreen_ok
def test_every_visible_string_of_the_form_screens_is_translated(qtbot, store_dir, contexts):
    from ui.screens.enroll import EnrollScreen
    from ui.screens.review import ReviewScreen
    from ui.screens.sync_screen import SyncScreen

    ctx = contexts(store_dir, SUP)
    screens = [show_widget(qtbot, cls(ctx)) for cls in (EnrollScreen, RecordsScreen, ReviewScreen, SyncScreen)]
    english = {i: _texts(s) for i, s in enumerate(screens)}
    assert all(english.values())
    ctx.set_language("km")
    for i, screen in enumerate(screens):
        khmer = _texts(screen)
        for key, text in english[i].items():
            assert khmer.get(key) != text and any("\u1780" <= ch <= "\u17ff" for ch in khmer.get(key, "")), \
                (type(screen).__name__, text)
    ctx.set_language("en")
    assert _texts(screens[0]) == english[0]


def test_home_and_records_show_one_label_per_state(make_harness, store_with_records):
    """A state reads the same on Home (counts), in the Records filter and table, and wherever else the client shows
    it (review history, duplicates, sync batches): all of them look it up with ``states.label_id``."""
    from fieldapp.base import i18n
    from fieldapp.domain import states
    from fieldapp.proof.status import plain_status
    from ui.models import COLUMNS
    from ui.widgets.duplicates import state_text

    h = make_harness(store_with_records)
    h.login()
    home, screen = h.screen("home"), h.show("records")
    h.qtbot.waitUntil(lambda: screen.model.rowCount() == 12 and not screen.model.loading, timeout=WAIT_MS)
    model, column = screen.model, COLUMNS.index("state")
    for lang in ("en", "km"):
        h.ctx.set_language(lang)
        h.settle()
        expected = {s: i18n.tr(states.label_id(s), lang) for s in states.STATES}
        assert len(set(expected.values())) == len(states.STATES)  # no two states read alike
        assert {s: home.state_names[s].text() for s in states.STATES} == expected
        assert {screen.state.itemData(i): screen.state.itemText(i) for i in range(1, screen.state.count())} == expected
        # the list says where a record is in plain words once it has left ("Sent, waiting for the registry")
        plain = {s: plain_status(s, None, None, lang) for s in states.STATES}
        assert {s: model._display({"state": s}, "state") for s in states.STATES} == plain
        assert plain["synced"] != expected["synced"] and len(set(plain.values())) == len(states.STATES)
        assert {s: state_text(h.ctx, s) for s in states.STATES} == expected
        shown = {model.index(r, column).data(Qt.DisplayRole) for r in range(model.rowCount())}
        assert shown == {expected["submitted"], expected["approved"]}
