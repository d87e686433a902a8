"""Training step time with the Hessian-projection loss vs without (issue 4's benchmark).

Data: 64-atom Si supercells (DFT-sized, rattled) labelled with forces and, for the Hessian runs,
a Hessian label per structure (a fixed random symmetric matrix: the step time does not depend on
the values). One batch of 2 structures, K = 4 random projections.

Run: ``python -m pytest benchmarks/bench_training.py --benchmark-columns=min,mean,rounds``
(compilation excluded: one warm-up step first). The fused combinations run when the fused kernel
is built (``phonax_fast.build_info()``) and are skipped otherwise. The session's results table
(``record``, benchmarks/conftest.py) gives the forces + Hessian step over the forces-only step.
"""

import numpy as np
import phonax_fast as pf
import pytest
from ase.build import bulk
from phonax_fast.training.batching import Batcher
from phonax_fast.training.data import Sample
from phonax_fast.training.trainer import (
    OptimConfig,
    init_state,
    make_optimizer,
    train_step,
)

HYPER = {"cutoff": 4.5, "num_layers": 2, "lmax": 1, "channels": 16, "radial_hidden": (32,), "avg_num_neighbors": 16.0}


def samples(hessian: bool):
    rng = np.random.default_rng(0)
    out = []
    for k in range(2):
        atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat((2, 2, 2))
        atoms.positions += rng.normal(scale=0.03, size=atoms.positions.shape)
        h = None
        if hessian:
            a = rng.normal(size=(192, 192))
            h = (a + a.T).reshape(64, 3, 64, 3)
        out.append(Sample(atoms, forces=rng.normal(size=(64, 3)), hessian=h))
    return out


def fused_available() -> bool:
    return bool(pf.build_info()["backends"])


@pytest.mark.parametrize("backend", ["e3nn", "fused"])
@pytest.mark.parametrize("kind", ["NequIP", "MACE"])
@pytest.mark.parametrize("hessian", [False, True], ids=["forces", "forces+hessian"])
def test_train_step(benchmark, record, kind, backend, hessian):
    if backend == "fused" and not fused_available():
        pytest.skip("the fused kernel is not built")
    model = pf.models.MODEL_CLASSES[kind].init(["Si"], **HYPER, backend=backend)
    batch = next(Batcher(samples(hessian), model.species, model.cutoff, batch_size=2, hessian_projections=4).epoch(0))
    optim = OptimConfig()
    weights = (("forces", 1.0), ("hessian", 0.01)) if hessian else (("forces", 1.0),)
    state = init_state(model, make_optimizer(optim, 100))

    def step():
        _, loss, _ = train_step(model, state, batch, optim, 100, weights)
        loss.block_until_ready()

    step()  # compile
    benchmark.pedantic(step, rounds=5, iterations=1)
    record(f"train step {kind} {backend} (2 × Si64, K = 4, min)", "forces+hessian" if hessian else "forces",
           benchmark.stats.stats.min, baseline="forces")
