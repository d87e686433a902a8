"""``phonax-fast info``: versions, compiled backends and what can run here, the models by name."""

from __future__ import annotations

import argparse
import importlib.util
import json

from .._native import build_info
from ..models import registry
from ..models.sevennet_convert import cached_path


def add_info_command(subparsers) -> argparse.ArgumentParser:
    """Register ``info`` on an ``argparse`` sub-parser collection."""
    p = subparsers.add_parser("info", help="versions, compiled backends and what can run here, the models by name",
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
    print(f"models (--model NAME; 'default' is {registry.DEFAULT}):")
    for name in registry.BUNDLED:
        model, card = registry.load(name), registry.CARDS[name]
        print(f"  {name}: {card.summary}; {registry.weights_count(model) / 1e3:.0f}k weights, "
              f"{registry.file_size(name) / 1e6:.1f} MB bundled; {model.elements_text}; licence {card.licence}")
        print(f"      trained on {card.training_data}; cite {card.citation}")
    sevenn = importlib.util.find_spec("sevenn") is not None
    for name in registry.SEVENNET_MODELS:
        card = registry.CARDS[name]
        try:
            cached = cached_path(name, "PBE" if name == "sevennet-mf-0" else None).exists()
        except ValueError:
            cached = False
        state = "converted and cached" if cached else ("convertible: sevenn is installed" if sevenn else
                                                        "needs pip install 'phonax_fast[sevennet]' once")
        print(f"  {name}: {card.summary}; {state}; licence {card.licence}")
        print(f"      trained on {card.training_data}; cite {card.citation}")
    return 0
