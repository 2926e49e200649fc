"""Allow ``python -m theorycheck``."""

import sys

from theorycheck.cli import main

sys.exit(main())
