"""How the Qt-free core reaches the layers above it without importing them.

The core never imports ``sync``, ``ui`` or ``registry`` (tests/test_import_rules.py). Those register themselves
through entry point groups of the installed package (``pyproject.toml``):

- ``fieldapp.gui``: ``gui`` (``run(data_dir, demo=None) -> int``, the desktop client) and ``self_test``
  (``check() -> list[str]``, what is missing from the Qt side);
- ``fieldapp.commands``: each entry is ``add_commands(subparsers, common)``, which adds its ``fieldapp``
  commands (the sync engine's ``register``, ``sync``, ``export-bundle``, ``provision-register``);
- ``fieldapp.demo``: ``demo`` (``run_demo(args) -> int``, ``fieldapp --demo``);
- ``fieldapp.checks``: self-test checks of those layers (``check() -> list[str]``; the sync engine's ``sync``).

A frozen build has no package metadata: its entry script calls ``register`` for each plug-in at start-up.
An entry point that is declared but fails to load raises: a broken install fails loudly.
"""

from __future__ import annotations

from importlib import metadata

GROUPS = ("fieldapp.gui", "fieldapp.commands", "fieldapp.demo", "fieldapp.checks")
_registered: dict[str, dict[str, object]] = {}


def register(group: str, name: str, obj) -> None:
    """Plug ``obj`` in as ``name`` of ``group`` (frozen builds; tests)."""
    if group not in GROUPS:
        raise ValueError(group)
    _registered.setdefault(group, {})[name] = obj


def plugins(group: str) -> dict[str, object]:
    """Every plug-in of ``group``: the registered ones, then the installed entry points, by name."""
    found = dict(_registered.get(group, {}))
    for ep in metadata.entry_points(group=group):
        if ep.name not in found:
            found[ep.name] = ep.load()
            _registered.setdefault(group, {})[ep.name] = found[ep.name]
    return found


def plugin(group: str, name: str):
    """One plug-in, or None when nothing provides it (a core-only install)."""
    return plugins(group).get(name)


def register_gui(run) -> None:
    register("fieldapp.gui", "gui", run)


def register_self_test(check) -> None:
    register("fieldapp.gui", "self_test", check)


def gui_runner():
    return plugin("fieldapp.gui", "gui")


def self_test_check():
    return plugin("fieldapp.gui", "self_test")
