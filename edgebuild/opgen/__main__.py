"""python -m edgebuild.opgen"""

import sys

from . import main

sys.exit(main())
