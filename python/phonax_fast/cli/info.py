"""``phonax-fast info``: versions, compiled backends and what can run here, the bundled models."""

from __future__ import annotations

import argparse
import json

from .._native import build_info
from ..models import BUNDLED, load


def add_info_command(subparsers) -> argparse.ArgumentParser:
    """Register ``info`` on an ``argparse`` sub-parser collection."""
    p = subparsers.add_parser("info", help="versions, compiled backends and what can run here, bundled models",
                              formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--json", action="store_true", help="print build_info() as JSON instead of text")
    p.set_defaults(run=run_info)
    return p


def run_info(args) -> int:
    """Print what this installation is and can run; returns 0."""
    info = build_info()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"phonax-fast {info['version']} (jax {info['jax']})")
    print(f"kernels compiled for: {', '.join(info['backends'])}")
    absent = [b for b in info["backends"] if b not in info["runnable"]]
    note = f"; compiled but not runnable here: {', '.join(absent)} (JAX sees no CUDA device)" if absent else ""
    print(f"can run here: {', '.join(info['runnable'])}{note}")
    for name in sorted(BUNDLED):
        model = load(name)
        print(f"model {name!r}: {model.model_name}, elements {' '.join(model.species)}, cutoff {model.cutoff} Å, "
              f"{model.num_layers} layers")
    return 0
