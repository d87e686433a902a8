"""``phonax-fast train CONFIG.yaml``: train an energy model from a YAML configuration."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from ..training.config import TrainConfig
from ..training.run import run as run_training


def add_train_command(subparsers) -> argparse.ArgumentParser:
    """Register ``train`` on an ``argparse`` sub-parser collection (``run`` = :func:`train_command`)."""
    parser = subparsers.add_parser(
        "train",
        help="train an energy model from a YAML configuration",
        description="Train an energy model (NequIP, MACE) on energies, forces, stress and Hessians "
        "as configured in a YAML file (see phonax_fast.training.config). Resumes from the "
        "configured checkpoint if it exists.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("config", type=Path, help="training configuration (YAML)")
    parser.add_argument("--epochs", type=int, default=None, help="override the configured number of epochs")
    parser.add_argument("--out", "--output", dest="output", type=Path, default=None, help="override the configured model file")
    parser.set_defaults(run=train_command)
    return parser


def train_command(args: argparse.Namespace) -> int:
    """Run ``phonax-fast train`` for parsed ``args``; returns 0."""
    config = TrainConfig.from_file(args.config)
    changes = {}
    if args.epochs is not None:
        changes["epochs"] = args.epochs
    if args.output is not None:
        changes["output_model"] = args.output
    _, _, errors = run_training(dataclasses.replace(config, **changes))
    if errors:
        print(json.dumps({"phonon_errors_THz": errors}, indent=2))
    return 0
