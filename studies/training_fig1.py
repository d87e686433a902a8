"""The paper's Fig. 1 claim on real DFT data: Hessian labels improve phonons of a model trained on small cells.

Data (phonopy's source distribution, VASP): ``test/phonopy_params_Si.yaml`` — Si, 16-atom supercell
(2×2×2 primitive cells), one displaced configuration with DFT forces. Models (same NequIP as
the bundled one, Si only, same steps) are trained on

1. the forces of the displaced 16-atom cell;
2. the same forces plus the Hessian of the perfect 16-atom cell (phonopy's force constants from
   the same forces), by K = 4 random Hessian-vector projections per step;

and compared with the DFT force constants of the larger 64-atom supercell
(``example/Si-gruneisen/orig``, same lattice constant) on the band path Γ–X–U|K–Γ–L:
RMSE of the frequencies in THz. A third row trains on the 64-atom forces for reference.

Each row is repeated for several seeds; seed ``s`` sets the model's initial weights and the
batcher's seed (shuffling and the random Hessian-projection tangents). Rows report mean ± sample
standard deviation over the seeds, plus the paired difference "forces + Hessian − forces" of the
16-atom rows (same seed = same initial weights).

Run from the repository root: ``python -m studies.training_fig1 --seeds 0 1 2 --out out/fig1``
(run time and results in ``benchmarks/RESULTS.md``). Writes
``results.json`` into ``--out``. phonopy's source distribution: ``--data``, or fetched by
:mod:`studies.phonopy_sdist`.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import phonax_fast as pf
from phonax_fast.training.batching import Batcher
from phonax_fast.training.config import load_reference
from phonax_fast.training.data import read_phonopy, to_atoms
from phonax_fast.training.trainer import OptimConfig, train

from .phonopy_sdist import phonopy_source

HYPER = {"cutoff": 4.5, "num_layers": 2, "lmax": 1, "channels": 16, "radial_hidden": (32,), "avg_num_neighbors": 20.0}
STEPS = 1500
HESSIAN_WEIGHT = 1e-3
# fcc primitive-cell path (reduced coordinates): Γ–X–U | K–Γ–L
CORNERS = {"G": [0, 0, 0], "X": [0.5, 0, 0.5], "U": [0.625, 0.25, 0.625], "K": [0.375, 0.375, 0.75], "L": [0.5, 0.5, 0.5]}
SEGMENTS = [("G", "X"), ("X", "U"), ("K", "G"), ("G", "L")]
BIG = {"phonopy": "example/Si-gruneisen/orig/POSCAR-unitcell", "force_sets": "example/Si-gruneisen/orig/FORCE_SETS",
       "supercell_matrix": [2, 2, 2]}
ROWS = ("16-atom forces", "16-atom forces + Hessian", "64-atom forces")


def band_path(n=25):
    return np.concatenate([np.linspace(CORNERS[a], CORNERS[b], n) for a, b in SEGMENTS])


def fit(samples, weights, seed: int = 0, steps: int = STEPS):
    model = pf.models.NequIP.init(["Si"], seed=seed, **HYPER)
    data = Batcher(samples, model.species, model.cutoff, batch_size=len(samples), hessian_projections=4, seed=seed)
    optim = OptimConfig(learning_rate=5e-3, warmup_steps=50, ema_decay=0.99)
    model, _ = train(model, data, epochs=steps // len(data), loss_weights=weights, optim=optim)
    return model


def mean_std(values) -> tuple[float, float]:
    v = np.asarray(values, dtype=float)
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--steps", type=int, default=STEPS)
    p.add_argument("--out", type=Path, default=Path("out/fig1"))
    p.add_argument("--data", type=Path, default=None,
                   help="phonopy's extracted source distribution (default: fetched by studies.phonopy_sdist)")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    root = args.data or phonopy_source()
    small = read_phonopy(root / "test/phonopy_params_Si.yaml", hessian=True)  # [displaced, perfect + Hessian]
    reference = load_reference(BIG, root)
    q = band_path()
    reference.run_qpoints(q)
    dft = reference.get_qpoints_dict()["frequencies"]
    primitive = to_atoms(reference.primitive)
    big = read_phonopy(root / BIG["phonopy"], force_sets=root / BIG["force_sets"], supercell_matrix=BIG["supercell_matrix"])
    runs = {
        ROWS[0]: (small[:1], {"forces": 1.0}),
        ROWS[1]: (small, {"forces": 1.0, "hessian": HESSIAN_WEIGHT}),
        ROWS[2]: (big, {"forces": 1.0}),
    }
    per_seed: dict = {name: {"rmse_THz": [], "gamma_optical_THz": []} for name in runs}
    print(f"DFT 64-atom reference: Γ optical {dft[0, -1]:.2f} THz")
    print(f"{'seed':>4} {'training data':28} {'band RMSE (THz)':>16} {'Γ optical (THz)':>16}")
    for seed in args.seeds:
        for name, (samples, weights) in runs.items():
            model = fit(samples, weights, seed, args.steps)
            ours = pf.Phonons(primitive, model).frequencies(q)
            rmse = float(np.sqrt(np.mean((ours - dft) ** 2)))
            per_seed[name]["rmse_THz"].append(rmse)
            per_seed[name]["gamma_optical_THz"].append(float(ours[0, -1]))
            print(f"{seed:>4} {name:28} {rmse:16.3f} {ours[0, -1]:16.2f}   [{time.perf_counter() - t0:.0f} s]", flush=True)

    summary = {}
    print(f"\nmean ± std over seeds {args.seeds} ({args.steps} steps each)")
    print(f"{'training data':28} {'band RMSE (THz)':>18} {'Γ optical (THz)':>18}")
    for name, rec in per_seed.items():
        rmse, gamma = mean_std(rec["rmse_THz"]), mean_std(rec["gamma_optical_THz"])
        summary[name] = {"rmse_mean": rmse[0], "rmse_std": rmse[1], "gamma_mean": gamma[0], "gamma_std": gamma[1], **rec}
        print(f"{name:28} {rmse[0]:8.3f} ± {rmse[1]:.3f} {gamma[0]:11.2f} ± {gamma[1]:.2f}")
    diff = np.array(per_seed[ROWS[1]]["rmse_THz"]) - np.array(per_seed[ROWS[0]]["rmse_THz"])
    d_mean, d_std = mean_std(diff)
    print(f"paired difference (Hessian − forces only, 16-atom): {d_mean:+.3f} ± {d_std:.3f} THz "
          f"(Hessian better in {int((diff < 0).sum())} of {len(diff)} seeds)")
    results = {"seeds": args.seeds, "steps": args.steps, "hyper": {k: list(v) if isinstance(v, tuple) else v for k, v in HYPER.items()},
               "hessian_weight": HESSIAN_WEIGHT, "dft_gamma_optical_THz": float(dft[0, -1]), "rows": summary,
               "paired_difference_THz": {"values": diff.tolist(), "mean": d_mean, "std": d_std},
               "seconds": time.perf_counter() - t0}
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    print(f"wrote {args.out / 'results.json'} ({time.perf_counter() - t0:.0f} s)")
    return results


if __name__ == "__main__":
    main()
