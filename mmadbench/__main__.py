"""`python -m mmadbench` runs the command line."""

import sys

from mmadbench.cli import main

sys.exit(main())
