"""`python -m edgebuild.cli ...`: the `edgebuild` command."""

import sys

from . import main

sys.exit(main())
