"""``phonax-fast info``: versions and compiled backends."""

from __future__ import annotations

import argparse
import json

from .._native import build_info


def add_info_command(subparsers) -> argparse.ArgumentParser:
    """Register ``info`` on an ``argparse`` sub-parser collection."""
    p = subparsers.add_parser("info", help="versions and compiled backends")
    p.set_defaults(run=run_info)
    return p


def run_info(args) -> int:
    """Print :func:`phonax_fast.build_info` as JSON; returns 0."""
    print(json.dumps(build_info(), indent=2))
    return 0
