"""The paper's Fig. 1 claim on real DFT data: Hessian labels improve phonons of a model trained on small cells.

Data (phonopy's source distribution, VASP): ``test/phonopy_params_Si.yaml`` — Si, 16-atom supercell
(2×2×2 primitive cells), one displaced configuration with DFT forces. Models (same NequIP as
the bundled one, Si only, same seed and steps) are trained on

1. the forces of the displaced 16-atom cell;
2. the same forces plus the Hessian of the perfect 16-atom cell (phonopy's force constants from
   the same forces), by K = 4 random Hessian-vector projections per step;

and compared with the DFT force constants of the larger 64-atom supercell
(``example/Si-gruneisen/orig``, same lattice constant) on the band path Γ–X–U|K–Γ–L:
RMSE of the frequencies in THz. A third row trains on the 64-atom forces for reference.

Run: ``python benchmarks/bench_training_fig1.py`` (a few minutes on 2 cores).
"""

import numpy as np
import phonax_fast as pf
from phonax_fast.training.batching import Batcher
from phonax_fast.training.config import load_reference
from phonax_fast.training.data import read_phonopy, to_atoms
from phonax_fast.training.phonopy_sdist import phonopy_source
from phonax_fast.training.trainer import OptimConfig, train

HYPER = {"cutoff": 4.5, "num_layers": 2, "lmax": 1, "channels": 16, "radial_hidden": (32,), "avg_num_neighbors": 20.0, "seed": 0}
STEPS = 1500
# fcc primitive-cell path (reduced coordinates): Γ–X–U | K–Γ–L
CORNERS = {"G": [0, 0, 0], "X": [0.5, 0, 0.5], "U": [0.625, 0.25, 0.625], "K": [0.375, 0.375, 0.75], "L": [0.5, 0.5, 0.5]}
SEGMENTS = [("G", "X"), ("X", "U"), ("K", "G"), ("G", "L")]


def band_path(n=25):
    return np.concatenate([np.linspace(CORNERS[a], CORNERS[b], n) for a, b in SEGMENTS])


def fit(samples, weights):
    model = pf.models.NequIP.init(["Si"], **HYPER)
    data = Batcher(samples, model.species, model.cutoff, batch_size=len(samples), hessian_projections=4, seed=0)
    optim = OptimConfig(learning_rate=5e-3, warmup_steps=50, ema_decay=0.99)
    model, _ = train(model, data, epochs=STEPS // len(data), loss_weights=weights, optim=optim)
    return model


def main():
    root = phonopy_source()
    small = read_phonopy(root / "test/phonopy_params_Si.yaml", hessian=True)  # [displaced, perfect + Hessian]
    big = {"phonopy": "example/Si-gruneisen/orig/POSCAR-unitcell", "force_sets": "example/Si-gruneisen/orig/FORCE_SETS",
           "supercell_matrix": [2, 2, 2]}
    reference = load_reference(big, root)
    q = band_path()
    reference.run_qpoints(q)
    dft = reference.get_qpoints_dict()["frequencies"]
    primitive = to_atoms(reference.primitive)
    runs = {
        "16-atom forces": (small[:1], {"forces": 1.0}),
        "16-atom forces + Hessian": (small, {"forces": 1.0, "hessian": 1e-3}),
        "64-atom forces": (read_phonopy(root / big["phonopy"], force_sets=root / big["force_sets"], supercell_matrix=[2, 2, 2]), {"forces": 1.0}),
    }
    print(f"{'training data':28} {'band RMSE (THz)':>16} {'Γ optical (THz)':>16}")
    print(f"{'DFT 64-atom reference':28} {'':>16} {dft[0, -1]:16.2f}")
    for name, (samples, weights) in runs.items():
        model = fit(samples, weights)
        ours = pf.Phonons(primitive, model).frequencies(q)
        rmse = float(np.sqrt(np.mean((ours - dft) ** 2)))
        print(f"{name:28} {rmse:16.3f} {ours[0, -1]:16.2f}", flush=True)


if __name__ == "__main__":
    main()
