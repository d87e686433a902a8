"""``phonax-fast train CONFIG.yaml``: the training sub-command (wired into the main CLI)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_train_command(subparsers) -> argparse.ArgumentParser:
    """Add ``train`` to an ``argparse`` sub-parser collection; it sets ``run`` to :func:`train_command`."""
    parser = subparsers.add_parser(
        "train",
        help="train an energy model from a YAML configuration",
        description="Train an energy model (NequIP, MACE) on energies, forces, stress and Hessians "
        "as configured in a YAML file (see phonax_fast.training.config). Resumes from the "
        "configured checkpoint if it exists.",
    )
    parser.add_argument("config", type=Path, help="training configuration (YAML)")
    parser.add_argument("--epochs", type=int, default=None, help="override the configured number of epochs")
    parser.add_argument("--output", type=Path, default=None, help="override the configured model file")
    parser.set_defaults(run=train_command)
    return parser


def train_command(args: argparse.Namespace) -> int:
    """Run ``phonax-fast train``; returns the exit status."""
    import dataclasses

    from .config import TrainConfig
    from .run import run

    config = TrainConfig.from_file(args.config)
    changes = {}
    if args.epochs is not None:
        changes["epochs"] = args.epochs
    if args.output is not None:
        changes["output_model"] = args.output
    _, _, errors = run(dataclasses.replace(config, **changes))
    if errors:
        print(json.dumps({"phonon_errors_THz": errors}, indent=2))
    return 0
