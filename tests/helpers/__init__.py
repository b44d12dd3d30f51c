"""Shared test helpers: plain modules (no tests, no fixtures) imported as ``from helpers.<module> import ...``.

``pyproject.toml`` puts ``tests/`` (and the repository root) on the import path through pytest's ``pythonpath``
setting, so no test file changes the path itself. Fixtures live in the conftest.py files, never here.

- ``clitools``: the ``python -m fieldapp`` runner (``Cli``), ``base_env``, ``ROOT``, the test passwords.
- ``planted``: scans files (and zip members) for planted personal data.
- ``validation_helpers``: a valid record and dependent to vary one field at a time, ``check``/``codes``.
- ``ui_consts``, ``ui_forms``: accounts, timeouts and form helpers of the desktop-client tests (tests/ui).
- ``sync_helpers``, ``faultproxy``: a registry subprocess, spools and states, and the loopback fault proxy.
- ``registry_client``: the registry tests' ``Server`` and signing ``Device`` (tests/registry).
- ``deploy_helpers``: the deployment tests' runner, samples and signed payloads (tests/deploy).
- ``attack_tools``, ``attack_registry_tools``, ``attack_tlsfront``: the attack suite's helpers (tests/attack).
"""
