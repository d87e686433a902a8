"""Command line: ``phonax-fast phonons|vibrations|train|info``.

Each sub-command lives in its own module and registers itself with ``add_*_command``; the
plumbing they share (reading a structure, loading a model and checking its elements, the output
folder, one-line errors and exit codes) is in :mod:`.common`.
"""

from __future__ import annotations

import argparse
import sys

from .._native import version
from .common import run
from .info import add_info_command
from .phonons import add_phonons_command
from .train import add_train_command
from .vibrations import add_vibrations_command


def build_parser() -> argparse.ArgumentParser:
    """The ``phonax-fast`` argument parser with every sub-command."""
    parser = argparse.ArgumentParser(prog="phonax-fast", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"phonax-fast {version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    add_phonons_command(sub)
    add_vibrations_command(sub)
    add_train_command(sub)
    add_info_command(sub)
    return parser


def main(argv=None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``) and run the sub-command; returns the exit status."""
    return run(build_parser().parse_args(argv))


__all__ = ["build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
