"""The sealed hand-off that sync and the registry share: the wire format, USB bundles, the device identity, the
store's outbox and the delivery spool (``spool.db``).

May import: ``fieldapp.base``, ``fieldapp.domain``, ``fieldapp.store``.
"""
