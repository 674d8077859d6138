"""Command line: ``refconv [--version] COMMAND``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import refconv


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="refconv",
        description="Machine-checked reference implementations of 2-D convolution and pooling.",
    )
    parser.add_argument("--version", action="version", version=f"refconv {refconv.__version__}")
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    return 0
