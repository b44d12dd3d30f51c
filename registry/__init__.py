"""The reference central registry for fieldapp.

A FastAPI service that enrolls devices, takes sealed, device-signed record batches
(``POST /v1/batches``), answers with signed receipts and reports record states. It is the
reference a national registry implements (see docs/protocol.md and ``/openapi.json``).
Storage is embedded SQLite by default or PostgreSQL (``--database-url``); several
processes over one PostgreSQL database work side by side. Nothing here imports Qt or ``ui``.
"""

__version__ = "0.1.0"
