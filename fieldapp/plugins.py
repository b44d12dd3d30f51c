"""How the Qt-free core reaches the optional desktop client without importing it.

The core must never import Qt or ``ui`` (tests/test_import_rules.py). The desktop client registers itself:
through the ``fieldapp.gui`` entry point group of the installed package (``pyproject.toml``), or, in a frozen
build whose entry script imports ``ui``, by calling ``register_gui``/``register_self_test`` at start-up.
"""

from __future__ import annotations

from importlib import metadata

_registered: dict[str, object] = {}


def register_gui(run) -> None:
    """``run(data_dir, demo=None) -> int`` opens the desktop client."""
    _registered["gui"] = run


def register_self_test(check) -> None:
    """``check() -> list[str]`` returns what is missing from the Qt side (empty when all is well)."""
    _registered["self_test"] = check


def _lookup(name: str):
    if name in _registered:
        return _registered[name]
    try:
        for ep in metadata.entry_points(group="fieldapp.gui"):
            if ep.name == name:
                _registered[name] = ep.load()
                return _registered[name]
    except Exception:  # a broken or missing desktop install: the caller says so
        return None
    return None


def gui_runner():
    return _lookup("gui")


def self_test_check():
    return _lookup("self_test")
