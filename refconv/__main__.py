"""``python -m refconv``: the same command line as the ``refconv`` console script."""

from refconv.cli import run

run()
