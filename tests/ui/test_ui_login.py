"""First run, login, lockout, idle lock and unlock, through the real widgets and the worker thread."""

from __future__ import annotations

from helpers.ui_consts import OUTREACH, PASSWORD, SUPERVISOR, WORKER_TIMEOUT_MS

from fieldapp.base import config as app_config
from fieldapp.store.lockout import FREE_ATTEMPTS
from fieldapp.store.database import Store
from ui.qt import Qt
from ui.worker import NotUnlocked


def test_first_run_creates_the_supervisor_and_lands_on_home(make_harness, tmp_path, qtbot):
    data_dir = tmp_path / "fresh"
    h = make_harness(data_dir)
    assert h.window.pages.currentWidget() is h.window.first_run
    first = h.window.first_run
    assert first.provision_button.isVisible()
    assert first.fields["user"][1].hasFocus() or not h.window.isActiveWindow()

    fields = {k: e for k, (_l, e) in first.fields.items()}
    fields["user"].setText("boss")
    fields["full_name"].setText("Chan Sokha")
    fields["password"].setText("long enough pw")
    fields["password_again"].setText("different pw!!")
    first.create_button.click()
    assert first.error.text() == "The two passwords differ."
    assert not Store(data_dir).exists()

    fields["password"].setText("short")
    fields["password_again"].setText("short")
    first.create_button.click()
    qtbot.waitUntil(lambda: "at least 8" in first.error.text(), timeout=WORKER_TIMEOUT_MS)
    assert not Store(data_dir).exists()

    fields["password"].setText("long enough pw")
    fields["password_again"].setText("long enough pw")
    qtbot.keyClick(fields["password_again"], Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: h.window.workspace is not None, timeout=WORKER_TIMEOUT_MS)
    h.settle()
    assert h.window.workspace.current_id() == "home"
    assert h.ctx.user == {"name": "boss", "role": "supervisor", "full_name": "Chan Sokha"}
    assert Store(data_dir).users() == ["boss"]
    assert h.window.status_user.text() == "Chan Sokha"
    assert h.window.status_role.text() == "Supervisor"
    assert app_config.load(data_dir).last_user == "boss"


def _signed_provisioning_file(tmp_path, **changes):
    import base64
    import secrets

    from fieldapp.deploy import provisioned, provisioning

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    priv_raw, pub_raw = key.private_bytes_raw(), key.public_key().public_bytes_raw()
    payload = {"format": provisioning.FORMAT, "version": provisioning.VERSION, "issued_at": "2025-01-02T03:04:05+00:00",
               "registry": {"url": "https://registry.example.org",
                            "seal_public_key": base64.b64encode(secrets.token_bytes(32)).decode(),
                            "sign_public_key": base64.b64encode(secrets.token_bytes(32)).decode()},
               "language": "km", "idle_minutes": 5}
    payload.update(changes)
    path = tmp_path / "provisioning.json"
    path.write_bytes(provisioning.sign(payload, priv_raw))
    return path, pub_raw


def test_first_run_applies_a_provisioning_file_then_creates_the_supervisor(make_harness, tmp_path, qtbot,
                                                                          monkeypatch):
    """Applying IT's file on the first-run screen, then creating the first supervisor under it.

    Applying a file moved to ``fieldapp.deploy.provisioned`` (``provisioning`` keeps the document itself), so the
    bundled keys are patched where it reads them; the new store pins the file's signer as its anchor."""
    from fieldapp.deploy import provisioned, provisioning

    path, trusted = _signed_provisioning_file(tmp_path)
    data_dir = tmp_path / "fresh"
    h = make_harness(data_dir)
    first = h.window.first_run

    # no trusted IT key in a source checkout: refused, with the core's message, nothing applied
    first.apply_provisioning(str(path))
    qtbot.waitUntil(lambda: "trusted IT key" in first.error.text(), timeout=WORKER_TIMEOUT_MS)
    assert h.ctx.lang == "en" and provisioned.applied(data_dir) is None

    # the keys bundled in the build, as ``fieldapp.deploy.provisioned`` (which applies files now) reads them
    monkeypatch.setattr(provisioning, "bundled_keys", lambda: [trusted])
    monkeypatch.setattr(provisioned, "bundled_keys", lambda: [trusted])
    first.apply_provisioning(str(path))
    qtbot.waitUntil(lambda: h.ctx.lang == "km", timeout=WORKER_TIMEOUT_MS)
    h.settle()
    assert first.error.text() == ""
    assert "https://registry.example.org" in first.provision_info.text()
    assert first.create_button.text() == "បង្កើត និងចូលប្រើ"  # the provisioned language, at once
    assert app_config.load(data_dir).idle_minutes == 5
    assert h.window.idle.timeout_ms == 5 * 60_000

    fields = {k: e for k, (_l, e) in first.fields.items()}
    fields["user"].setText("boss")
    fields["password"].setText("long enough pw")
    fields["password_again"].setText("long enough pw")
    first.create_button.click()
    qtbot.waitUntil(lambda: h.window.workspace is not None, timeout=WORKER_TIMEOUT_MS)
    h.settle()
    assert h.ctx.user["role"] == "supervisor"
    # the store created with the applied file pins its signer: later files are checked against the store, not
    # against whatever signer a file beside it names
    from fieldapp.base.encoding import b64encode
    from fieldapp.store import trusted as trusted_facts
    from fieldapp.store.database import Store

    with Store(data_dir).unlock("boss", "long enough pw") as session:
        assert trusted_facts.get(session.conn, "provisioning.trust_anchor") == b64encode(trusted)


def test_wrong_password_then_lockout_delay_is_shown(harness, qtbot):
    h, login = harness, harness.window.login
    qtbot.waitUntil(lambda: login.user.count() == 2, timeout=WORKER_TIMEOUT_MS)
    login.select_user(OUTREACH)
    for attempt in range(FREE_ATTEMPTS):
        qtbot.waitUntil(login.submit.isEnabled, timeout=WORKER_TIMEOUT_MS)
        login.password.setText(f"wrong password {attempt}")
        qtbot.keyClick(login.password, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: login.error.text() == "Wrong user name or password.", timeout=WORKER_TIMEOUT_MS)
        h.settle()
        assert login.password.text() == ""
    # after the fifth failure the wait is shown at once, in plain words, and counts down
    assert login.wait.isVisible()
    assert "Try again in 30 seconds" in login.wait.text()
    assert not login.submit.isEnabled()
    first = login.remaining_seconds()
    qtbot.waitUntil(lambda: login.remaining_seconds() < first and str(login.remaining_seconds()) in login.wait.text(),
                    timeout=3000)
    # typing Enter while locked out starts no attempt
    login.password.setText(PASSWORD)
    qtbot.keyClick(login.password, Qt.Key.Key_Return)
    assert h.ctx.worker.pending == 0 and h.window.workspace is None
    # the countdown is per user: the supervisor may still log in
    login.select_user(SUPERVISOR)
    h.settle()
    assert not login.wait.isVisible() and login.submit.isEnabled()


def test_lockout_seconds_from_the_core_are_shown(harness, qtbot, monkeypatch):
    from fieldapp.store import lockout
    from fieldapp.base.errors import LockedOut

    def locked(data_dir, user):
        raise LockedOut(75)

    login = harness.window.login
    qtbot.waitUntil(lambda: login.user.count() == 2, timeout=WORKER_TIMEOUT_MS)
    monkeypatch.setattr(lockout, "check", locked)
    login.password.setText(PASSWORD)
    login.submit.click()  # the UI saw no wait; Store.unlock raises LockedOut(75)
    qtbot.waitUntil(login.wait.isVisible, timeout=WORKER_TIMEOUT_MS)
    assert "Try again in 75 seconds" in login.wait.text() or "Try again in 74 seconds" in login.wait.text()
    assert not login.submit.isEnabled() and login.error.text() == ""


def test_login_works_and_prefills_the_last_user(make_harness, store_dir, qtbot):
    app_config.update(store_dir, last_user=OUTREACH)
    h = make_harness(store_dir)
    login = h.window.login
    qtbot.waitUntil(lambda: login.user.count() == 2, timeout=WORKER_TIMEOUT_MS)
    assert login.current_user() == OUTREACH
    assert login.password.hasFocus() or not h.window.isActiveWindow()
    h.login(SUPERVISOR, PASSWORD)
    assert h.ctx.user["role"] == "supervisor"
    assert h.window.workspace.current_id() == "home"
    assert app_config.load(store_dir).last_user == SUPERVISOR


def test_demo_prefills_the_login_user(make_harness, store_dir, qtbot):
    h = make_harness(store_dir, demo={"login_user": OUTREACH})
    qtbot.waitUntil(lambda: h.window.login.user.count() == 2, timeout=WORKER_TIMEOUT_MS)
    assert h.window.login.current_user() == OUTREACH


def test_empty_password_is_refused_without_an_attempt(harness, qtbot):
    login = harness.window.login
    qtbot.waitUntil(lambda: login.user.count() == 2, timeout=WORKER_TIMEOUT_MS)
    login.submit.click()
    assert login.error.text() == "Type your password."
    assert harness.ctx.worker.pending == 0


def test_idle_lock_returns_to_login_and_the_password_unlocks(harness, qtbot):
    h = harness
    h.login()
    workspace = h.window.workspace
    h.show("settings")
    h.window.idle.set_timeout_ms(150)  # test hook; the setting itself is in minutes
    qtbot.waitUntil(lambda: h.window.locked, timeout=5000)
    h.settle()
    login = h.window.login
    assert h.window.pages.currentWidget() is login
    assert login.heading.text() == "Locked"
    assert login.current_user() == SUPERVISOR and not login.user.isEnabled()
    assert login.user.currentText() == "Supervisor Sok"  # the full name, as the login list shows it
    assert h.ctx.user is None

    # the session is closed while locked: no job can reach the store
    errors = []
    h.ctx.worker.run(lambda session: session.name, on_error=errors.append)
    h.settle()
    assert isinstance(errors[0], NotUnlocked)

    login.password.setText("not the password")
    login.submit.click()
    qtbot.waitUntil(lambda: login.error.text() == "Wrong user name or password.", timeout=WORKER_TIMEOUT_MS)
    assert h.window.locked
    h.window.idle.set_timeout_ms(60_000)
    login.password.setText(PASSWORD)
    login.submit.click()
    qtbot.waitUntil(lambda: not h.window.locked, timeout=WORKER_TIMEOUT_MS)
    h.settle()
    assert h.window.workspace is workspace  # same user: work in progress is kept
    assert h.window.workspace.current_id() == "settings"
    assert h.ctx.user["name"] == SUPERVISOR


def test_ctrl_l_locks_and_another_user_can_take_over(harness, qtbot):
    h = harness
    h.login()
    qtbot.keyClick(h.window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: h.window.locked, timeout=5000)
    login = h.window.login
    assert login.other.isVisible()
    login.other.click()
    h.settle()
    assert not h.window.locked and h.window.workspace is None
    assert login.user.isEnabled() and login.user.count() == 2
    h.login(OUTREACH, "outreach pass 1")
    assert h.ctx.user["role"] == "outreach"


def test_ctrl_q_quits(harness, qtbot):
    harness.login()
    qtbot.keyClick(harness.window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not harness.window.isVisible(), timeout=5000)


def test_first_run_never_replaces_a_store_whose_key_slots_were_lost(make_harness, tmp_path, qtbot):
    from fieldapp.store.keyslots import b64d, generate_recovery_keypair

    data_dir = tmp_path / "lost"
    _private, public = generate_recovery_keypair()
    Store(data_dir).create(SUPERVISOR, PASSWORD, recovery_public=b64d(public["key"])).close()
    (data_dir / "keyslots.json").unlink()
    db_before = (data_dir / "fieldapp.db").read_bytes()
    h = make_harness(data_dir)
    first = h.window.first_run
    assert h.window.pages.currentWidget() is first
    assert "fieldapp recover" in first.error.text() and not first.create_button.isEnabled()
    assert not first.restore_button.isEnabled()
    fields = {k: e for k, (_l, e) in first.fields.items()}
    fields["user"].setText("boss")
    fields["password"].setText("long enough pw")
    fields["password_again"].setText("long enough pw")
    qtbot.keyClick(fields["password_again"], Qt.Key.Key_Return)
    h.settle()
    assert not Store(data_dir).exists() and (data_dir / "fieldapp.db").read_bytes() == db_before
    assert "fieldapp recover" in first.error.text()


def test_a_replacement_laptop_restores_a_backup_at_first_run(make_harness, tmp_path, qtbot):
    from fieldapp.store import backup, records
    from fieldapp.domain.synthetic import make_records

    old = tmp_path / "old"
    with Store(old).create(SUPERVISOR, PASSWORD) as session:
        records.import_records(session, make_records(12, seed=45))
        backup.create(session, tmp_path / "stick.fieldapp-backup")
    h = make_harness(tmp_path / "new")
    first = h.window.first_run
    assert first.restore_button.isVisible() and first.restore_button.isEnabled()

    first.restore_from(str(tmp_path / "stick.fieldapp-backup"), SUPERVISOR, "not the password")
    qtbot.waitUntil(lambda: not first._busy, timeout=WORKER_TIMEOUT_MS)
    assert "password" in first.error.text().lower() and h.window.pages.currentWidget() is first
    assert not Store(tmp_path / "new").exists()

    first.restore_from(str(tmp_path / "stick.fieldapp-backup"), SUPERVISOR, PASSWORD)
    qtbot.waitUntil(lambda: h.window.pages.currentWidget() is h.window.login, timeout=WORKER_TIMEOUT_MS)
    assert "12" in h.window.statusBar().currentMessage()
    h.login()
    assert h.ctx.user["name"] == SUPERVISOR
    with Store(tmp_path / "new").unlock(SUPERVISOR, PASSWORD) as session:
        assert sum(records.counts(session).values()) == 12
