import sys

from fieldapp.cli.main import main

sys.exit(main())
