"""The CLI with JAX's persistent compilation cache: a first run (empty cache) vs a second run.

    python -m benchmarks.bench_compilation_cache [STRUCTURE] [--model NAME]

Runs ``phonax-fast phonons STRUCTURE`` twice in fresh processes with a new cache folder and prints
the force-constant phase (from the CLI's log) and the whole run's wall time of each, and the
cache's size; and once more with the cache off, as the baseline.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_cli(structure: str, model: str, cache: str, out: Path) -> tuple[float, float]:
    """(force-constant seconds from the log, wall seconds) of one CLI run."""
    env = dict(os.environ, PHONAX_FAST_CACHE_DIR=cache)
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "phonax_fast.cli", "phonons", structure, "--model", model, "--out",
                             str(out), "--npoints", "101", "--mesh", "16", "16", "16"], env=env, capture_output=True,
                            text=True, check=True)
    wall = time.perf_counter() - start
    fc = float(re.search(r"execute [0-9.]+ s, total ([0-9.]+) s", result.stdout).group(1))
    return fc, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("structure", nargs="?", default="example:Si")
    parser.add_argument("--model", default="default")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rows = [("no cache", *run_cli(args.structure, args.model, "none", tmp / "a"))]
        cache = tmp / "cache"
        rows.append(("first (empty cache)", *run_cli(args.structure, args.model, str(cache), tmp / "b")))
        rows.append(("second (cache read)", *run_cli(args.structure, args.model, str(cache), tmp / "c")))
        size = sum(p.stat().st_size for p in cache.rglob("*") if p.is_file())
    print(f"{'run':22} {'force constants s':>17} {'whole run s':>12}")
    for name, fc, wall in rows:
        print(f"{name:22} {fc:17.2f} {wall:12.2f}")
    print(f"cache: {size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
