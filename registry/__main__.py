"""``python -m registry``: the same as the ``fieldapp-registry`` command."""

import sys

from registry.cli import main

sys.exit(main())
