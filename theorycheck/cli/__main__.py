"""``python -m theorycheck.cli``."""

import sys

from theorycheck.cli import main

sys.exit(main())
