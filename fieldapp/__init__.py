"""fieldapp: the Qt-free core of the offline enrollment client.

Domain model, validation, the encrypted local store, users and roles, the audit
trail and the command line. Nothing in this package may import Qt or ``ui``.
"""

__version__ = "0.1.0"
