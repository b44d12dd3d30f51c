"""Helpers shared by the command-line handlers: data folder, passwords, unlocking, output."""

from __future__ import annotations

import getpass
import json
import os
import sys

from fieldapp.base.errors import FieldappError
from fieldapp.base.paths import resolve_data_dir
from fieldapp.store.database import Session, Store


def store_of(args) -> Store:
    return Store(resolve_data_dir(getattr(args, "data_dir", None)))


def read_password(env: str = "FIELDAPP_PASSWORD", prompt_id: str = "core.cli.password_prompt", confirm: bool = False,
                  **params) -> str:
    """The password from ``env``, else a prompt on the terminal; never echoed, never logged."""
    from fieldapp.base.i18n import tr

    value = os.environ.get(env)
    if value:
        return value
    if not sys.stdin or not sys.stdin.isatty():
        raise FieldappError("core.cli.no_password", env=env)
    value = getpass.getpass(tr(prompt_id, **params) + " ")
    if confirm and getpass.getpass(tr("core.cli.password_again") + " ") != value:
        raise FieldappError("core.cli.password_mismatch")
    return value


def unlock(args, role: str | None = None) -> Session:
    """Unlock the store as ``args.user``; with ``role="supervisor"`` refuse anyone else."""
    from fieldapp import services

    store = store_of(args)
    store.require_exists()
    return services.open_session(store.data_dir, args.user, read_password(user=args.user), role=role)


def emit_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=True))


def say(msg_id: str, **params) -> None:
    from fieldapp.base.i18n import tr

    print(tr(msg_id, **params))


def subcommand(sub, common, name: str, func, text: str):
    """A subcommand with the common options (``--data-dir``, ``--lang``) that runs ``func(args)``."""
    p = sub.add_parser(name, parents=[common], help=text, description=text)
    p.set_defaults(func=func)
    return p


def new_password(user: str) -> str:
    """A new password for ``user``: FIELDAPP_NEW_PASSWORD, else asked twice on the terminal."""
    return read_password("FIELDAPP_NEW_PASSWORD", "core.cli.new_password_prompt", confirm=True, user=user)


def recovery_credentials(key_file, user: str) -> tuple[bytes, str]:
    """IT's recovery private key and a checked new password for ``user`` (``recover``, ``restore --recovery-key``)."""
    from pathlib import Path

    from fieldapp.store import users
    from fieldapp.store.keyslots import load_recovery_key

    key = load_recovery_key(Path(key_file), "private")
    users.check_name(user)
    password = new_password(user)
    users.check_password(password)
    return key, password
