"""A keyring backend for tests: the operating system keystore this machine lacks, as a JSON file.

Selected with ``PYTHON_KEYRING_BACKEND=helpers.file_keyring.FileKeyring`` (tests/ on the path) and
``FIELDAPP_TEST_KEYRING_FILE=<path>``, so real processes share it; ``keyring.set_keyring(FileKeyring())`` in-process.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class FileKeyring(KeyringBackend):
    priority = 1

    @property
    def path(self) -> Path:
        return Path(os.environ["FIELDAPP_TEST_KEYRING_FILE"])

    def _load(self) -> dict:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}

    def get_password(self, service, username):
        return self._load().get(f"{service}|{username}")

    def set_password(self, service, username, password):
        data = self._load()
        data[f"{service}|{username}"] = password
        self.path.write_text(json.dumps(data))

    def delete_password(self, service, username):
        data = self._load()
        if data.pop(f"{service}|{username}", None) is None:
            raise PasswordDeleteError("not found")
        self.path.write_text(json.dumps(data))
