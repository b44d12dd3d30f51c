"""Entry point of the installed fieldapp (the PyInstaller bundle runs this file).

- ``fieldapp`` with no command (only ``--data-dir``/``--lang``): applies the machine-wide provisioning file if
  there is a new one, then opens the desktop client (``ui.app.run``).
- ``fieldapp --self-test``: the install check (``fieldapp.deploy.selftest``), with the Qt part (``ui.selftest``)
  plugged in here, because the core never imports Qt.
- anything else: the command line, ``fieldapp.cli.main.main``.

It also runs from a checkout (``python installers/entry.py ...``), which is how the tests and the benchmark compare
the frozen program with the same code run by the venv's Python.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

if not getattr(sys, "frozen", False):  # a checkout: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _plug_in_gui() -> None:
    """Give the core's self-test and diagnostics the Qt checks (absent in a core-only install)."""
    import importlib.util

    from fieldapp.deploy import selftest

    if importlib.util.find_spec("ui") is None:  # pragma: no cover - a core-only install
        return

    def qt_check() -> list[str]:  # Qt is imported only when the check runs, not for every command
        import ui.selftest

        return ui.selftest.check()

    def qt_versions() -> dict:
        import ui.selftest

        return ui.selftest.versions()

    selftest.register_check("qt", qt_check)
    selftest.register_version("qt", qt_versions)
    from fieldapp.base import plugins

    plugins.register("fieldapp.gui", "render", _lazy("ui.printing.cli", "render"))  # fieldapp slip / card


def _lazy(module: str, attr: str):
    """A plug-in that imports its module only when it is called."""

    def call(*args, **kwargs):
        import importlib

        return getattr(importlib.import_module(module), attr)(*args, **kwargs)

    return call


def _plug_in_sync() -> None:
    """A frozen build has no entry point metadata: plug in the sync engine's commands and the demo by hand."""
    from fieldapp.base import plugins

    plugins.register("fieldapp.commands", "provision_register", _lazy("sync.cli_provision", "add_commands"))
    plugins.register("fieldapp.commands", "sync", _lazy("sync.cli", "add_commands"))
    plugins.register("fieldapp.demo", "demo", _lazy("sync.demo", "run_demo"))
    plugins.register("fieldapp.checks", "sync", _lazy("sync.cli", "self_test_check"))


def _option(argv: list[str], name: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def _only_common_options(argv: list[str]) -> bool:
    """True when argv names no command: the desktop client should open."""
    rest = list(argv)
    while rest:
        head = rest.pop(0)
        if head in ("--data-dir", "--lang") and rest:
            rest.pop(0)
        elif not head.startswith(("--data-dir=", "--lang=")):
            return False
    return True


def run_gui(argv: list[str]) -> int:
    from fieldapp.base import i18n
    from fieldapp.deploy import provisioned
    from fieldapp.base.logs import setup
    from fieldapp.base.paths import resolve_data_dir
    from fieldapp.store.database import umask_private

    umask_private()
    setup()
    lang = _option(argv, "--lang")
    if lang in i18n.LANGUAGES:
        i18n.set_language(lang)
    data_dir = resolve_data_dir(_option(argv, "--data-dir"))
    message = provisioned.apply_machine_file(data_dir)
    if message:
        print(message, file=sys.stderr)
    import ui.app
    import ui.selftest

    if os.environ.get("FIELDAPP_QUIT_AFTER_WINDOW"):
        ui.selftest.quit_after_first_window(ui.app.make_application())
    return ui.app.run(data_dir)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _plug_in_gui()
    _plug_in_sync()
    from fieldapp.cli import main as cli

    if "--self-test" in argv and "--self-test" not in cli.build_parser()._option_string_actions:
        from fieldapp.cli import deploy as cli_deploy
        from fieldapp.base import i18n

        lang = _option(argv, "--lang")
        if lang in i18n.LANGUAGES:
            i18n.set_language(lang)
        return cli_deploy.self_test()
    if _only_common_options(argv):
        return run_gui(argv)
    return cli.main(argv)


if __name__ == "__main__":
    if getattr(sys, "frozen", False):
        import multiprocessing

        multiprocessing.freeze_support()
    sys.exit(main())
