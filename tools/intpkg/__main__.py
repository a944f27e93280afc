"""`python -m intpkg`: the command line (the UI starts the collector this way)."""

import sys

from intpkg.cli import main

sys.exit(main())
