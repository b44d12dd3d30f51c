"""``python -m sync register|sync|export-bundle --data-dir DIR ...`` (same handlers as ``fieldapp``)."""

import sys

from sync.cli import main

sys.exit(main())
