"""Reproduce the bundled molecular model ``phonax_fast/models/data/molecules.npz`` from GFN2-xTB data.

    python -m studies.reproduce_molecules [--out molecules.npz] [--data DIR]

(from the repository root). Needs tblite (``pip install tblite==0.8.0``); about 35 minutes on 2 CPU cores (reference data 15 s,
training 34 min, evaluation 1 min). Steps:

1. Reference data (GFN2-xTB through tblite, :mod:`studies.xtb_reference`), for every
   training molecule named in ``models/data/molecules.yaml`` (``data.train``: ``<name>.npz``, ``name``
   a molecule of ``ase.build.molecule``): the molecule relaxed with GFN2-xTB, with its energy, forces
   and finite-difference Hessian, plus ``RATTLED`` copies with Gaussian displacements of σ from
   ``SIGMAS[0]`` to ``SIGMAS[1]`` Å, each with its energy, forces and finite-difference Hessian; a
   validation set (``data.valid``) of ``VALID_RATTLED`` more copies per molecule. The files are
   written into ``--data`` in :func:`~phonax_fast.training.data.read_npz`'s format.
2. Training: NequIP as configured in ``molecules.yaml`` (energy, forces and Hessian losses, the
   Hessian by random Hessian-vector projections), started with per-element energy shifts from a
   least-squares fit of the training energies and the output scale set to the RMS force.
3. Evaluation (printed and returned): harmonic frequencies of every training molecule and of the
   held-out molecules ``HELD_OUT`` (never seen in training) against GFN2-xTB's finite-difference
   Hessian at the GFN2-xTB minimum, as the mean absolute error over the sorted vibrational
   frequencies in cm⁻¹: the model's Hessian at the GFN2-xTB minimum, and at the model's own minimum
   (the GFN2-xTB geometry relaxed further with the model, ASE's BFGS to ``FMAX`` eV/Å). The
   spread of each symmetry-degenerate set of the model's frequencies is reported too.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path

# tblite's OpenMP threads make molecules this small several times slower on a shared CPU
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from ase import Atoms  # noqa: E402
from ase.build import molecule  # noqa: E402

from phonax_fast import models  # noqa: E402
from phonax_fast.calculator import Calculator  # noqa: E402
from phonax_fast.training.batching import Batcher  # noqa: E402
from phonax_fast.training.config import TrainConfig, read_source  # noqa: E402
from phonax_fast.training.data import Sample  # noqa: E402
from phonax_fast.training.run import build_model  # noqa: E402
from phonax_fast.training.trainer import train  # noqa: E402
from phonax_fast.vibrations import Vibrations  # noqa: E402

from .xtb_reference import XTB, fd_hessian, optimise, rattled_samples, relax, with_data_statistics  # noqa: E402

CONFIG = Path(models.__file__).resolve().parent / "data" / "molecules.yaml"
METHOD = "GFN2-xTB"
RATTLED = 16
VALID_RATTLED = 4
SIGMAS = (0.005, 0.03)
HELD_OUT = ("C5H5N", "CH3COOH", "CH3CONH2", "isobutene", "trans-butane", "C3H4_C3v")
FMAX = 1e-4


def molecule_names(sources) -> list[str]:
    """The ``ase.build.molecule`` names of the data sources ``[{npz: <dir>/<name>.npz}, …]``."""
    names = []
    for source in sources:
        if set(source) != {"npz"}:
            raise ValueError(f"molecules.yaml lists GFN2-xTB data as {{npz: <name>.npz}}, got {source}")
        names.append(Path(source["npz"]).stem)
    return names


def labelled(atoms: Atoms, energy: float, forces: np.ndarray) -> Sample:
    """``atoms`` with its energy, forces and GFN2-xTB finite-difference Hessian."""
    n = len(atoms)
    return Sample(Atoms(atoms.numbers, positions=atoms.get_positions()), energy=energy, forces=forces,
                  hessian=fd_hessian(atoms, METHOD).reshape(n, 3, n, 3))


def reference_samples(name: str, n_rattled: int, rng: np.random.Generator, include_minimum: bool) -> list[Sample]:
    """GFN2-xTB samples of molecule ``name``: its minimum (if ``include_minimum``) and ``n_rattled``
    rattled copies around it, all with energies, forces and Hessians (eV, eV/Å, eV/Å²)."""
    minimum = optimise(molecule(name), METHOD)
    samples = []
    if include_minimum:
        samples.append(labelled(minimum, *XTB(minimum, METHOD).energy_forces(minimum.get_positions())))
    for s in rattled_samples(minimum, METHOD, n_rattled, rng, SIGMAS):
        samples.append(labelled(s.atoms, s.energy, s.forces))
    return samples


def write_npz(path: Path, samples: list[Sample]) -> None:
    """Samples of one molecule in :func:`~phonax_fast.training.data.read_npz`'s format (eV, Å)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, numbers=samples[0].atoms.numbers, positions=np.array([s.atoms.get_positions() for s in samples]),
             energy=np.array([s.energy for s in samples]), forces=np.array([s.forces for s in samples]),
             hessian=np.array([s.hessian for s in samples]))


def make_reference_data(config: TrainConfig, root: Path, seed: int, log) -> None:
    """Write the training and validation files named in ``config`` into ``root``."""
    rng = np.random.default_rng(seed)
    t = time.perf_counter()
    for sources, n, minimum in ((config.train, RATTLED, True), (config.valid, VALID_RATTLED, False)):
        for name, source in zip(molecule_names(sources), sources):
            write_npz(root / source["npz"], reference_samples(name, n, rng, minimum))
    log(f"GFN2-xTB reference data written to {root} ({time.perf_counter() - t:.1f} s)")


def relax_with_model(atoms: Atoms, model, fmax: float = FMAX) -> Atoms:
    """A copy of ``atoms`` relaxed on the model's energy (ASE's BFGS to max force ``fmax`` eV/Å)."""
    return relax(atoms, Calculator(model), fmax, steps=500)


def frequency_errors(model, names) -> dict:
    """Per molecule: mean and max |Δν| (cm⁻¹) of the model's sorted vibrational frequencies against
    GFN2-xTB's at the GFN2-xTB minimum, the model's Hessian taken there (``*_at_reference``) and at
    the model's own minimum (``*_at_model_minimum``), plus the point group of the model's minimum and
    the largest spread of a degenerate set there (cm⁻¹)."""
    out = {}
    for name in names:
        ref_atoms = optimise(molecule(name), METHOD)
        ref = Vibrations(ref_atoms, hessian=fd_hessian(ref_atoms, METHOD))
        nu_ref = ref.frequencies_cm1[~ref.zero_modes]
        row = {"modes": int(nu_ref.size), "point_group": ref.point_group}
        own = relax_with_model(ref_atoms, model)
        for key, atoms in (("at_reference", ref_atoms), ("at_model_minimum", own)):
            vib = Vibrations(atoms, model)
            diff = np.abs(vib.frequencies_cm1[~vib.zero_modes] - nu_ref)
            row[f"mae_cm1_{key}"] = float(diff.mean())
            row[f"max_cm1_{key}"] = float(diff.max())
        row["model_point_group"] = vib.point_group
        row["degenerate_spread_cm1"] = float(max(np.ptp(vib.frequencies_cm1[s]) for s in vib.degenerate_sets))
        row["rmsd_minimum_angstrom"] = float(np.sqrt(np.mean(np.sum((own.positions - ref_atoms.positions) ** 2, 1))))
        out[name] = row
    return out


def print_table(errors: dict, train_names) -> None:
    print(f"{'molecule':<8} {'set':<9} {'group':<5} {'modes':>5} {'MAE@xTB min':>12} {'max':>7} "
          f"{'MAE@own min':>12} {'max':>7} {'Δr (Å)':>8} {'deg. spread':>11}")
    for name, r in errors.items():
        role = "train" if name in train_names else "held out"
        print(f"{name:<8} {role:<9} {r['model_point_group']:<5} {r['modes']:>5} {r['mae_cm1_at_reference']:>12.1f} "
              f"{r['max_cm1_at_reference']:>7.1f} {r['mae_cm1_at_model_minimum']:>12.1f} "
              f"{r['max_cm1_at_model_minimum']:>7.1f} {r['rmsd_minimum_angstrom']:>8.4f} {r['degenerate_spread_cm1']:>11.1e}")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("molecules.npz"), help="model file to write (default: ./molecules.npz)")
    parser.add_argument("--data", type=Path, default=Path("molecules-reference"),
                        help="folder for the GFN2-xTB reference data (default: ./molecules-reference)")
    parser.add_argument("--checkpoint", type=Path, default=None, help="checkpoint file (resumes if it exists)")
    parser.add_argument("--epochs", type=int, default=None, help="override the configured number of epochs")
    parser.add_argument("--config", type=Path, default=CONFIG, help="training configuration (default: the bundled one)")
    parser.add_argument("--held-out", nargs="*", default=list(HELD_OUT), metavar="NAME",
                        help="ase.build.molecule names evaluated but never trained on (default: %(default)s)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()

    def log(msg):
        print(f"[{time.perf_counter() - t0:7.1f} s] {msg}", flush=True)

    config = TrainConfig.from_file(args.config)
    changes = {"output_model": args.out, "checkpoint": args.checkpoint, "data_root": args.data}
    if args.epochs is not None:
        changes["epochs"] = args.epochs
    config = dataclasses.replace(config, **changes)
    make_reference_data(config, args.data, config.seed, log)
    train_samples = [s for source in config.train for s in read_source(source, args.data)]
    valid_samples = [s for source in config.valid for s in read_source(source, args.data)]
    model = with_data_statistics(build_model(config), train_samples)
    common = {"species": model.species, "cutoff": model.cutoff, "batch_size": config.batch_size}
    train_data = Batcher(train_samples, seed=config.seed, hessian_projections=config.hessian_projections, **common)
    valid_data = Batcher(valid_samples, shuffle=False, hessian_projections=0, **common)
    log(f"training {model.model_name} on {len(train_samples)} structures ({len(valid_samples)} for validation)")
    model, history = train(
        model, train_data, epochs=config.epochs, loss_weights=config.loss_weights, optim=config.optimizer,
        valid_data=valid_data, checkpoint=config.checkpoint, valid_every=config.valid_every,
        checkpoint_every=config.checkpoint_every,
        log=lambda r: log(f"epoch {r['epoch']}: loss {r['loss']:.4g}, valid "
                          f"{ {k: round(float(v), 4) for k, v in r.get('valid', {}).items()} }"),
    )
    model.save(config.output_model)
    log(f"model written to {config.output_model}")
    train_names = molecule_names(config.train)
    errors = frequency_errors(model, [*train_names, *args.held_out])
    log("frequencies vs GFN2-xTB (cm-1; sorted vibrational modes):")
    print_table(errors, train_names)
    valid = history.records[-1].get("valid", {})
    print(json.dumps({"final_loss": history.records[-1]["loss"], "valid": valid, "frequency_errors_cm1": errors}, indent=2))
    return errors


if __name__ == "__main__":
    main()
