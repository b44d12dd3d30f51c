"""The encrypted store and its tables: SQLCipher behind key slots, migrations, the audit chain, users, records,
search, lockout, recovery, backup and integrity checks.

May import: ``fieldapp.base``, ``fieldapp.domain``.
"""
