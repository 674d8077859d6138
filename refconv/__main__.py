"""``python -m refconv``: the same command line as the ``refconv`` console script."""

import sys

from refconv.cli import main

sys.exit(main())
