"""The exit codes of every command (``fieldapp``, ``python -m sync``, ``fieldapp-registry``).

One table, so scripts and the desktop client compare names, not numbers.
docs/sync.md and the CLI help list the same codes.
"""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    OK = 0            #: done
    FAIL = 1          #: failed; the one-line message says why; nothing saved was lost
    USAGE = 2         #: the command line was wrong (argparse also uses 2)
    UNREACHABLE = 3   #: sync: the registry could not be reached or trusted; try again later
    QUARANTINED = 4   #: sync: everything was sent, but the registry set some records aside
    REFUSED = 5       #: sync: the registry refused this device; an administrator must act
    INTERRUPTED = 130  #: stopped with Ctrl+C (128 + SIGINT)


__all__ = ["Exit"]
