"""`python -m specweave.cli`: what `sw-ml` runs, without needing it on PATH."""

import sys

from .main import main

sys.exit(main())
