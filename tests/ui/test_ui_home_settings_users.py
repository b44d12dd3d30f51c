"""Home (your work, counts, chart, sync status), settings (language, idle lock), users (add, reset, disable), roles.
The window's own parts (Lock, Sign out, your password, the focus ring, the login list) are in test_ui_shell.py."""

from __future__ import annotations

from datetime import date

from helpers.ui_consts import OUTREACH, OUTREACH_PASSWORD, PASSWORD, SUPERVISOR, WORKER_TIMEOUT_MS

from fieldapp.base import config as app_config
from fieldapp.base import i18n
from fieldapp.base.errors import AuthError
from fieldapp.store.database import Store
from ui.qt import Qt


def test_home_shows_counts_today_and_the_chart(make_harness, store_with_records):
    h = make_harness(store_with_records)
    h.login()
    home = h.screen("home")
    assert h.window.workspace.current_id() == "home"
    assert home.state_values["submitted"].text() == "8"
    assert home.state_values["approved"].text() == "4"
    assert home.state_values["draft"].text() == "0"
    assert home.state_names["approved"].text() == "Approved"
    assert home.today_label.text() == "Submitted by you today: 12"
    data = home.chart.data
    assert len(data) == 30 and sum(c for _d, c in data) == 12
    assert "30 days, 12 enrollments in total" in home.chart.accessibleDescription()
    assert home.sync_labels["connection"][1].text() == "Not registered with the registry"
    assert home.sync_labels["last_sync"][1].text() == "Never"
    assert home.sync_labels["waiting"][1].text() == "0"
    image = home.chart.grab().toImage()  # it paints (bars in the highlight colour)
    assert not image.isNull() and image.width() > 0

    h.ctx.set_language("km")
    assert home.state_values["submitted"].text() == "៨"
    assert home.today_label.text() == i18n.tr("ui.home.submitted_today", "km", count="១២")
    assert home.chart_box.title() == i18n.tr("ui.home.chart_title", "km")


def test_home_for_outreach_counts_only_their_records(make_harness, store_with_records):
    h = make_harness(store_with_records)
    h.login(OUTREACH, OUTREACH_PASSWORD)
    home = h.screen("home")
    assert home.state_values["submitted"].text() == "0"
    assert home.today_label.text() == "Submitted by you today: 0"


class _FakeSync:
    """Stands in for sync.service.SyncService: the snapshot the UI polls, and no thread."""

    def start(self):
        pass

    def stop(self, timeout=None):
        pass

    def kick(self):
        pass

    def latest_progress(self):
        from sync.progress import Progress

        return Progress(phase="idle", online=True, last_success_at=1_700_000_000.0, queued=3)


def test_home_and_status_bar_show_the_sync_service_state(harness):
    harness.ctx.sync = _FakeSync()
    harness.login()
    home = harness.screen("home")
    assert home.sync_labels["connection"][1].text() == "Online"
    assert harness.window.status_sync.text() == "Online"
    assert home.sync_labels["last_sync"][1].text().startswith("14 November 2023 at ")


def test_language_switch_retranslates_without_restart(harness, qtbot):
    h = harness
    h.login()
    home, settings = h.screen("home"), h.show("settings")
    combo = settings.lang
    combo.setFocus()
    combo.setCurrentIndex(combo.findData("km"))
    assert h.ctx.lang == "km"
    assert settings.idle_label.text() == i18n.tr("ui.settings.idle_minutes", "km")
    assert home.counts_box.title() == "កំណត់ត្រាតាមស្ថានភាព"
    assert h.window.workspace.nav.item(0).text() == "ទំព័រដើម"
    assert h.window.status_role.text() == "អ្នកត្រួតពិនិត្យ"
    assert h.window.windowTitle() == i18n.tr("ui.app.title", "km")
    assert settings.version.text() == "០.១.០"
    assert app_config.load(h.ctx.data_dir).language == "km"
    combo.setCurrentIndex(combo.findData("en"))
    assert settings.idle_label.text() == "Lock after minutes without use"
    assert home.counts_box.title() == "Records by state"
    assert h.window.workspace.nav.item(0).text() == "Home"


def test_settings_idle_minutes_accept_khmer_digits_and_apply_at_once(harness, qtbot):
    h = harness
    h.login()
    settings = h.show("settings")
    assert settings.idle.value() == 10 and h.window.idle.timeout_ms == 10 * 60_000
    settings.idle.setFocus()
    settings.idle.selectAll()
    settings.idle.lineEdit().setText("")
    settings.idle.lineEdit().insert("១៥")  # typed on a Khmer keyboard
    settings.idle.interpretText()
    assert settings.idle.value() == 15
    assert app_config.load(h.ctx.data_dir).idle_minutes == 15
    assert h.window.idle.timeout_ms == 15 * 60_000
    assert settings.folder.text() == str(h.ctx.data_dir)
    assert settings.device_rows["status"][1].text() == "Not registered with the registry"
    assert not settings.device_rows["device_id"][1].isVisible()


def test_settings_show_the_registered_device(harness, qtbot):
    from fieldapp.outbound import device as device_file
    from fieldapp.outbound import wire

    priv, pub = wire.new_device_keys()
    keys = wire.new_registry_keys()
    seal = next(v for k, v in keys.items() if "seal" in k and "public" in k)
    sign = next(v for k, v in keys.items() if "sign" in k and "public" in k)
    harness.login()
    from fieldapp.outbound import identity

    dev = device_file.Device("dev-0042", "https://registry.example.org", wire.b64e(priv), wire.b64e(pub),
                             wire.b64e(seal), wire.b64e(sign), "2025-03-04T05:06:07Z")
    harness.ctx.worker.run(identity.adopt, dev)  # what registration records in the store, and device.json from it
    qtbot.waitUntil(lambda: harness.ctx.worker.pending == 0)
    settings = harness.show("settings")
    assert settings.device_rows["status"][1].text() == "This laptop is registered"
    assert settings.device_rows["device_id"][1].text() == "dev-0042"
    assert settings.device_rows["server_url"][1].text() == "https://registry.example.org"
    assert settings.device_rows["registered_at"][1].text() == "4 March 2025"
    assert "PRIVATE" not in settings.registry.grab().toImage().text()


def _unlock_result(data_dir, user, password):
    try:
        Store(data_dir).unlock(user, password).close()
        return "ok"
    except AuthError as exc:
        return exc.msg_id


def test_supervisor_adds_a_user_resets_a_password_and_disables_a_user(harness, qtbot):
    """Add, reset, disable and enable again, checked against the store itself.

    A disabled user's key slot is removed, so their password opens nothing: the store answers "wrong password", no
    longer "disabled". Enabling them again is a password reset: the Enable button needs the new-password fields
    filled (twice, the same), and only that new password opens the store afterwards."""
    h = harness
    h.login()
    qtbot.keyClick(h.window, Qt.Key.Key_6, Qt.KeyboardModifier.ControlModifier)
    h.settle()
    users = h.screen("users")
    assert h.window.workspace.current_id() == "users"
    assert users.table.rowCount() == 2
    f = {k: e for k, (_l, e) in users.add_fields.items()}
    f["user"].setText("new.worker")
    f["full_name"].setText("Keo Sopheap")
    f["role"].setCurrentIndex(f["role"].findData("outreach"))
    f["password"].setText("first password")
    f["password_again"].setText("first password")
    users.add_button.click()
    qtbot.waitUntil(lambda: users.table.rowCount() == 3, timeout=WORKER_TIMEOUT_MS)
    h.settle()
    assert users.message.text() == "User new.worker added."
    assert users.selected_user() == "new.worker"
    assert f["user"].text() == "" and f["password"].text() == ""

    # a name the core refuses: the core's message, in the user's language
    f["user"].setText("Bad Name")
    f["password"].setText("whatever123")
    f["password_again"].setText("whatever123")
    users.add_button.click()
    qtbot.waitUntil(lambda: "2 to 32 characters" in users.message.text(), timeout=WORKER_TIMEOUT_MS)

    r = {k: e for k, (_l, e) in users.reset_fields.items()}
    r["new_password"].setText("second password")
    r["password_again"].setText("second passwrd")
    users.reset_button.click()
    assert users.message.text() == "The two passwords differ."
    r["password_again"].setText("second password")
    users.reset_button.click()
    qtbot.waitUntil(lambda: users.message.text() == "New password set for new.worker.", timeout=WORKER_TIMEOUT_MS)

    assert users.disable_button.text() == "Disable"
    users.disable_button.click()
    qtbot.waitUntil(lambda: "is disabled" in users.message.text(), timeout=WORKER_TIMEOUT_MS)
    h.settle()
    row = [users.table.item(i, 0).text() for i in range(users.table.rowCount())].index("new.worker")
    assert users.table.item(row, 3).text() == "Disabled"
    assert users.disable_button.text() == "Enable"
    data_dir = h.ctx.data_dir
    assert _unlock_result(data_dir, "new.worker", "second password") == "core.auth.wrong_password"  # no slot left
    # nobody can disable themselves: the button is off for the logged-in supervisor
    users.select(SUPERVISOR)
    assert not users.disable_button.isEnabled()

    # enabling again needs a new password, typed twice
    users.select("new.worker")
    users.disable_button.click()
    qtbot.waitUntil(lambda: users.message.text() == "To enable a user again, give them a new password.",
                    timeout=WORKER_TIMEOUT_MS)
    h.settle()
    assert users.table.item(row, 3).text() == "Disabled"
    r["new_password"].setText("third password")
    r["password_again"].setText("third passwrd")
    users.disable_button.click()
    assert users.message.text() == "The two passwords differ."
    r["password_again"].setText("third password")
    users.disable_button.click()
    qtbot.waitUntil(lambda: users.message.text() == "User new.worker can sign in again.", timeout=WORKER_TIMEOUT_MS)
    h.settle()
    row = [users.table.item(i, 0).text() for i in range(users.table.rowCount())].index("new.worker")
    assert users.table.item(row, 3).text() == "Active" and users.disable_button.text() == "Disable"
    assert r["new_password"].text() == "" and r["password_again"].text() == ""

    # the effects, checked against the store itself
    h.window.logout()
    h.settle()
    assert _unlock_result(data_dir, "new.worker", "third password") == "ok"
    assert _unlock_result(data_dir, "new.worker", "second password") == "core.auth.wrong_password"
    assert _unlock_result(data_dir, "new.worker", "first password") == "core.auth.wrong_password"


def test_outreach_sees_no_users_or_review(harness, qtbot):
    h = harness
    h.login(OUTREACH, OUTREACH_PASSWORD)
    ws = h.window.workspace
    assert ws.visible_ids() == ["home", "enroll", "records", "members", "sync", "settings"]
    for key in (Qt.Key.Key_4, Qt.Key.Key_6):
        qtbot.keyClick(h.window, key, Qt.KeyboardModifier.ControlModifier)
        assert ws.current_id() == "home"
    assert not ws.show_screen("users")
    qtbot.keyClick(h.window, Qt.Key.Key_7, Qt.KeyboardModifier.ControlModifier)
    assert ws.current_id() == "settings"


def test_supervisor_reaches_every_screen_by_keyboard(harness, qtbot):
    h = harness
    h.login(SUPERVISOR, PASSWORD)
    ws = h.window.workspace
    assert ws.visible_ids() == ["home", "enroll", "records", "members", "review", "sync", "users", "settings"]
    for screen_id in ws.visible_ids():
        number = int(ws.shortcuts[screen_id].shortcut().toString().split("+")[-1])
        qtbot.keyClick(h.window, getattr(Qt.Key, f"Key_{number}"), Qt.KeyboardModifier.ControlModifier)
        assert ws.current_id() == screen_id
        h.settle()
        focused = h.window.focusWidget()
        # the screen's first input, or the side list when the screen has none yet (never nowhere)
        assert (focused is None or ws.screens[screen_id].isAncestorOf(focused) or focused is ws.nav
                or not h.window.isActiveWindow())
    # and with the side list alone
    ws.nav.setFocus()
    qtbot.keyClick(ws.nav, Qt.Key.Key_Home)
    assert ws.current_id() == "home"
    qtbot.keyClick(ws.nav, Qt.Key.Key_Down)
    assert ws.current_id() == "enroll"
    h.settle()


def test_dates_are_shown_in_the_local_form(harness):
    harness.login()
    harness.ctx.set_language("km")
    assert harness.ctx.format_date(date(2024, 1, 15)) == "ថ្ងៃទី១៥ ខែមករា ឆ្នាំ២០២៤"
    assert harness.ctx.format_date("2024-01-15T08:00:00Z") == "ថ្ងៃទី១៥ ខែមករា ឆ្នាំ២០២៤"


def test_supervisor_backs_up_from_settings_and_the_backup_restores(harness, qtbot, tmp_path):
    from fieldapp.store import backup

    h = harness
    h.login()
    settings = h.show("settings")
    assert settings.backup_box.isVisible() and "Ctrl+B" in settings.backup_button.toolTip()
    out = tmp_path / "usb" / "today.fieldapp-backup"
    out.parent.mkdir()
    settings.backup_to(str(out))  # what the save dialog hands over
    assert not settings.backup_button.isEnabled()
    qtbot.waitUntil(lambda: settings.backup_button.isEnabled(), timeout=WORKER_TIMEOUT_MS)
    assert "Backup written to" in settings.backup_status.text() and out.exists()
    settings.backup_to(str(out))  # never over an existing file: the error is shown, nothing is lost
    qtbot.waitUntil(lambda: settings.backup_button.isEnabled(), timeout=WORKER_TIMEOUT_MS)
    assert "already exists" in settings.backup_status.text() or "exists" in settings.backup_status.text()
    result = backup.restore(out, tmp_path / "new-laptop", SUPERVISOR, PASSWORD)
    assert result["store_id"] == Store(h.ctx.data_dir).slots().store_id


def test_outreach_has_no_backup(harness, qtbot):
    h = harness
    h.login(OUTREACH, OUTREACH_PASSWORD)
    settings = h.show("settings")
    assert not settings.backup_box.isVisible()
    settings.choose_backup_file()  # the shortcut does nothing (and the core would refuse)


def _outreach_work(data_dir):
    """The outreach worker's day: two submitted records (one returned by the supervisor), two drafts (one nameless).
    Returns (returned id, named draft id)."""
    from fieldapp import services
    from fieldapp.domain.synthetic import make_records
    from fieldapp.store import records

    with Store(data_dir).unlock(OUTREACH, OUTREACH_PASSWORD) as session:
        ids = records.import_records(session, make_records(2, seed=61))
        draft = records.save_draft(session, {"family_name": "សុខ", "given_name": "ដារា"})
        records.save_draft(session, {"sex": "female"})
    with Store(data_dir).unlock(SUPERVISOR, PASSWORD) as session:
        services.review(session, [ids[0]], "return", "wrong_name: check the spelling")
    return ids[0], draft


def test_home_shows_the_workers_returned_records_drafts_and_submitted_today(make_harness, store_dir, qtbot):
    """Drafts are listed but never counted as submitted; Enter on a returned record opens it in the form."""
    returned, draft = _outreach_work(store_dir)
    h = make_harness(store_dir)
    h.login(OUTREACH, OUTREACH_PASSWORD)
    home = h.screen("home")
    work = home.my_work
    assert home.today_label.text() == "Submitted by you today: 2"
    assert work.titles["returned"].text() == "Returned to you (1)"
    assert work.titles["drafts"].text() == "Your drafts (2)"
    line = work.lists["returned"].item(0).text()
    assert "Wrong name" in line or "name" in line.lower()
    assert "check the spelling" in line
    drafts = [work.lists["drafts"].item(i).text() for i in range(work.lists["drafts"].count())]
    assert any(t.startswith("សុខ ដារា — saved ") for t in drafts), drafts
    assert any(t.startswith("(no name yet) — saved ") for t in drafts), drafts
    assert not work.empty["returned"].isVisible() and not work.empty["drafts"].isVisible()

    h.ctx.set_language("km")
    assert work.titles["returned"].text() == "បានបញ្ជូនមកអ្នកវិញឱ្យកែ (១)"
    assert home.today_label.text() == i18n.tr("ui.home.submitted_today", "km", count="២")
    assert all(not any(c.isdigit() and c.isascii() for c in work.lists["drafts"].item(i).text())
               for i in range(work.lists["drafts"].count()))  # the save times in Khmer digits
    h.ctx.set_language("en")

    items = work.lists["returned"]
    items.setFocus()
    items.setCurrentRow(0)
    qtbot.keyClick(items, Qt.Key.Key_Return)
    enroll = h.screen("enroll")
    qtbot.waitUntil(lambda: h.window.workspace.current_id() == "enroll" and enroll.record_id == returned,
                    timeout=WORKER_TIMEOUT_MS)
    h.settle()


def test_home_for_a_worker_with_nothing_to_do(make_harness, store_dir):
    h = make_harness(store_dir)
    h.login(OUTREACH, OUTREACH_PASSWORD)
    work = h.screen("home").my_work
    assert work.titles["returned"].text() == "Returned to you (0)"
    assert work.empty["returned"].text() == "Nothing is waiting for your correction."
    assert work.empty["drafts"].isVisible() and not work.lists["drafts"].isVisible()

