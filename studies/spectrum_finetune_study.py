"""Spectrum fine-tuning study (paper §III C 5): benzene's spectrum trains, toluene and phenol are held out.

Everything is generated here, nothing is downloaded:

1. Reference spectra: each molecule is optimised with GFN2-xTB (tblite, ASE's BFGS), its Hessian is
   taken by central differences of GFN2-xTB gradients (step 0.005 bohr, one tblite Calculator
   reused per molecule), and its vibrational eigenvalues are those of the mass-weighted Hessian
   with translations/rotations projected out (``phonax_fast.vibrations`` normal modes).
2. Pre-training data: energies and forces of randomly rattled copies of the three molecules
   (Gaussian displacements, σ from 0.01 to 0.08 Å, around the pre-training method's own minimum)
   computed with ``--pretrain-method`` (default GFN1-xTB). Pre-training on a *different* level of
   theory than the reference spectra mimics the paper's set-up (energy model and spectrum database
   from different DFT settings): the pre-trained model's spectra are then off for a systematic
   reason as well as for its own fitting error. ``--pretrain-method GFN2-xTB`` leaves only the
   fitting error.
3. A small NequIP (C, H, O) is pre-trained on energies + forces with ``phonax_fast.training.train``.
4. It is fine-tuned on benzene's reference spectrum only (:func:`finetune_spectrum` below: Adam on
   the mean squared error of the sorted vibrational eigenvalues at benzene's GFN2-xTB geometry,
   :func:`phonax_fast.training.spectrum_finetune.molecular_spectrum_loss`).
   A second, "anchored" fine-tuning keeps the pre-training energy + force loss beside benzene's
   spectrum (``phonax_fast.training.train`` with a ``spectrum`` term, the same number of Adam
   steps and learning rate, weight ``--anchor-spectrum-weight``).
5. The table gives the mean absolute error of the sorted vibrational frequencies (cm⁻¹) of each
   molecule before and after both fine-tunings, each molecule at its GFN2-xTB geometry, plus the
   force MAE on the pre-training validation set (how much of the energy/force fit each fine-tuning
   gives up), and, for scale, the MAE of the pre-training method's own spectrum (at its own
   minimum) vs GFN2-xTB.

Needs ``pip install tblite==0.8.0``. Run (about 3 minutes on 2 CPU cores):

    python -m studies.spectrum_finetune_study --out out/spectrum_finetune

Writes ``results.json``, ``spectra.png``, the reference data (``reference.npz``) and the two models
into ``--out``. Run from the repository root (``studies`` is a package, see ``studies/README.md``);
``tests/test_spectrum_finetune.py`` imports :func:`finetune_spectrum` from here.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

# tblite's OpenMP threads on a small, shared CPU make the reference data ~8x slower (and the
# molecules here are far too small to gain from them); set before any library starts its runtime
os.environ.setdefault("OMP_NUM_THREADS", "1")

import jax
import jax.numpy as jnp
import numpy as np
import optax
import phonax_fast as pf
from ase import Atoms
from ase.build import molecule
from phonax_fast.graphs.neighbors import periodic_graph
from phonax_fast.graphs.validation import validate_structure
from phonax_fast.training import Batcher, OptimConfig, Sample, evaluate, train
from phonax_fast.training.losses import spectrum_target
from phonax_fast.training.spectrum_finetune import (
    molecular_spectrum,
    reference_eigenvalues,
    vibrational_projector,
)
from phonax_fast.units import eigenvalues_to_cm1

from .xtb_reference import (
    FD_STEP_BOHR,
    cached_arrays,
    fd_hessian,
    optimise,
    rattled_samples,
    with_data_statistics,
)

MOLECULES = ("benzene", "toluene", "phenol")


# ----------------------------------------------------------------------------- fine-tuning loop

@dataclass
class SpectrumHistory:
    """Per logged step: ``step``, ``loss`` ((eV/(Å²·amu))²), ``mae_cm1`` (mean |Δν| over the
    sorted vibrational frequencies) and ``seconds`` since the start."""

    records: list = field(default_factory=list)

    def column(self, key: str) -> np.ndarray:
        return np.array([r[key] for r in self.records])


def finetune_spectrum(model, atoms: Atoms, target, optimizer: optax.GradientTransformation, steps: int, *,
                      log_every: int = 10, log=None):
    """Fine-tune ``model`` so that the vibrational spectrum of ``atoms`` at its given geometry
    matches ``target``.

    Args:
        model: an energy model (a pytree; its ``params`` are the starting weights).
        atoms: the molecule (Å, amu; no periodic boundary conditions), typically at the reference
            method's minimum.
        target: (3N−6,) reference vibrational eigenvalues in eV/(Å²·amu), ascending (see
            :func:`reference_eigenvalues`); a (3N, 3N) reference Hessian in eV/Å² is accepted too.
        optimizer: an optax gradient transformation, e.g. ``optax.adam(1e-3)``.
        steps: optimisation steps (one molecule, full spectrum each step).
        log_every: record (and pass to ``log``) every ``log_every``-th step; the first and last
            steps are always recorded.
        log: called with each record (a dict), e.g. ``print``.
    Returns:
        (fine-tuned model, :class:`SpectrumHistory`); the record of step s is for the weights
        before update s + 1, so step 0 is the starting model and step ``steps`` the returned one.
    """
    if steps < 0:
        raise ValueError(f"steps must be ≥ 0, got {steps}")
    if atoms.pbc.any():
        raise ValueError("spectrum fine-tuning is for isolated molecules: set atoms.pbc = False")
    validate_structure(atoms, model.species)
    target = np.asarray(target, dtype=float)
    n3 = 3 * len(atoms)
    if target.shape == (n3, n3):
        target = reference_eigenvalues(atoms, target)
    projector = vibrational_projector(atoms)
    if target.shape != (projector.shape[1],):
        raise ValueError(f"target has shape {target.shape}; {atoms.get_chemical_formula()} has "
                         f"{projector.shape[1]} vibrational eigenvalues")
    if not np.all(np.diff(target) >= 0):
        target = np.sort(target)
    graph = jax.tree_util.tree_map(jnp.asarray, periodic_graph(atoms, model.cutoff, model.species))
    projector, target_j = jnp.asarray(projector), jnp.asarray(target)
    target_cm1 = eigenvalues_to_cm1(target)

    @jax.jit
    def step_fn(params, opt_state):
        def loss_fn(p):
            lam = molecular_spectrum(model, p, graph, projector)
            return jnp.mean((lam - target_j) ** 2), lam

        (loss, lam), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss, lam

    params, history, start = model.params, SpectrumHistory(), time.perf_counter()
    opt_state = optimizer.init(params)

    def record(step, loss, lam):
        loss = float(loss)
        if not math.isfinite(loss):
            raise FloatingPointError(f"spectrum loss became {loss} at step {step}; lower the learning rate")
        rec = {"step": step, "loss": loss, "mae_cm1": float(np.mean(np.abs(eigenvalues_to_cm1(lam) - target_cm1))),
               "seconds": time.perf_counter() - start}
        history.records.append(rec)
        if log:
            log(rec)

    for step in range(steps + 1):  # the last call only evaluates the final weights (one compilation)
        new_params, new_state, loss, lam = step_fn(params, opt_state)
        if step % log_every == 0 or step == steps:
            record(step, loss, lam)
        if step < steps:
            params, opt_state = new_params, new_state
    return model.with_params(params), history


# ----------------------------------------------------------------------------- structures

def build_molecule(name: str) -> Atoms:
    """Starting geometries (optimised afterwards): benzene from ase's G2 set; toluene and phenol
    from it by replacing one H with CH3 or OH at textbook bond lengths and angles."""
    benzene = molecule("C6H6")
    if name == "benzene":
        return benzene
    # ase's C6H6: C0..C5 then H6..H11, H(6+k) bonded to C(k); ring in the xy plane
    pos = benzene.get_positions()
    c, h = pos[0], pos[6]
    u = (h - c) / np.linalg.norm(h - c)  # outward, in plane
    normal = np.array([0.0, 0.0, 1.0])
    w = np.cross(normal, u)  # in plane, perpendicular to u
    keep = [i for i in range(12) if i != 6]
    symbols = [benzene.get_chemical_symbols()[i] for i in keep]
    positions = [pos[i] for i in keep]
    if name == "toluene":
        cm = c + 1.51 * u
        symbols.append("C")
        positions.append(cm)
        for k in range(3):  # tetrahedral methyl, C-H 1.09 Å
            phi = 2 * np.pi * k / 3
            d = -np.cos(np.radians(109.5)) * u + np.sin(np.radians(109.5)) * (np.cos(phi) * normal + np.sin(phi) * w)
            symbols.append("H")
            positions.append(cm + 1.09 * d)
    elif name == "phenol":
        o = c + 1.36 * u
        ang = np.radians(180 - 109.0)
        symbols += ["O", "H"]
        positions += [o, o + 0.96 * (np.cos(ang) * u + np.sin(ang) * w)]
    else:
        raise ValueError(f"unknown molecule {name!r}; use one of {MOLECULES}")
    return Atoms(symbols, positions=np.array(positions))


# ----------------------------------------------------------------------------- study

def make_reference(out: Path, pretrain_method: str, n_configs: int, seed: int, log) -> dict:
    """Reference geometries/Hessians/eigenvalues (GFN2-xTB) and pre-training samples; cached in reference.npz."""
    key = f"{pretrain_method}|{n_configs}|{seed}|{FD_STEP_BOHR}|v2"

    def make() -> dict:
        rng = np.random.default_rng(seed)
        data = {}
        for name in MOLECULES:
            t = time.perf_counter()
            start = build_molecule(name)
            ref = optimise(start, "GFN2-xTB")
            hess = fd_hessian(ref, "GFN2-xTB")
            pre_min = optimise(ref, pretrain_method) if pretrain_method != "GFN2-xTB" else ref
            pre_hess = fd_hessian(pre_min, pretrain_method) if pretrain_method != "GFN2-xTB" else hess
            train_s = rattled_samples(pre_min, pretrain_method, n_configs, rng)
            valid_s = rattled_samples(pre_min, pretrain_method, max(2, n_configs // 5), rng)
            data[f"{name}/numbers"] = ref.numbers
            data[f"{name}/positions"] = ref.get_positions()
            data[f"{name}/hessian"] = hess
            data[f"{name}/eigenvalues"] = reference_eigenvalues(ref, hess)
            data[f"{name}/pretrain_method_eigenvalues"] = reference_eigenvalues(pre_min, pre_hess)
            for split, samples in (("train", train_s), ("valid", valid_s)):
                data[f"{name}/{split}_positions"] = np.array([s.atoms.get_positions() for s in samples])
                data[f"{name}/{split}_energy"] = np.array([s.energy for s in samples])
                data[f"{name}/{split}_forces"] = np.array([s.forces for s in samples])
            log(f"{name}: GFN2-xTB minimum, FD Hessian and {len(train_s)}+{len(valid_s)} {pretrain_method} "
                f"samples in {time.perf_counter() - t:.1f} s")
        return data

    return _unpack(cached_arrays(out / "reference.npz", key, make, log))


def _unpack(z: dict) -> dict:
    ref = {}
    for name in MOLECULES:
        atoms = Atoms(numbers=z[f"{name}/numbers"], positions=z[f"{name}/positions"])
        entry = {"atoms": atoms, "hessian": z[f"{name}/hessian"], "eigenvalues": z[f"{name}/eigenvalues"],
                 "pretrain_method_eigenvalues": z[f"{name}/pretrain_method_eigenvalues"]}
        for split in ("train", "valid"):
            entry[split] = [Sample(Atoms(numbers=atoms.numbers, positions=x), energy=float(e), forces=f)
                            for x, e, f in zip(z[f"{name}/{split}_positions"], z[f"{name}/{split}_energy"],
                                               z[f"{name}/{split}_forces"])]
        ref[name] = entry
    return ref


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=Path("out/spectrum_finetune"))
    p.add_argument("--pretrain-method", default="GFN1-xTB", choices=["GFN1-xTB", "GFN2-xTB"])
    p.add_argument("--configs", type=int, default=40, help="rattled pre-training configurations per molecule")
    p.add_argument("--epochs", type=int, default=150, help="pre-training epochs")
    p.add_argument("--steps", type=int, default=200, help="spectrum fine-tuning steps")
    p.add_argument("--lr", type=float, default=1e-3, help="fine-tuning learning rate (Adam)")
    p.add_argument("--anchor-spectrum-weight", type=float, default=10.0,
                   help="weight of the spectrum term beside energy 1 and forces 10 in the anchored fine-tuning")
    p.add_argument("--channels", type=int, default=8)
    p.add_argument("--lmax", type=int, default=1)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--cutoff", type=float, default=4.0)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    def log(msg):
        print(f"[{time.perf_counter() - t0:7.1f} s] {msg}", flush=True)

    ref = make_reference(out, args.pretrain_method, args.configs, args.seed, log)
    species = ("C", "H", "O")

    # --- pre-training on energies + forces
    model_path = out / (f"pretrained_{args.pretrain_method}_L{args.layers}_c{args.channels}_l{args.lmax}_"
                        f"r{args.cutoff:g}_n{args.configs}_e{args.epochs}_s{args.seed}.npz")
    train_samples = [s for name in MOLECULES for s in ref[name]["train"]]
    valid_samples = [s for name in MOLECULES for s in ref[name]["valid"]]
    valid = Batcher(valid_samples, species, args.cutoff, batch_size=8, shuffle=False)
    if model_path.exists():
        model = pf.models.load(model_path)
        log(f"reusing pre-trained model {model_path}")
    else:
        model = pf.models.NequIP.init(species, cutoff=args.cutoff, num_layers=args.layers, lmax=args.lmax,
                                      channels=args.channels, radial_hidden=(16,), avg_num_neighbors=8.0,
                                      seed=args.seed)
        model = with_data_statistics(model, train_samples)
        batcher = Batcher(train_samples, species, args.cutoff, batch_size=8, seed=args.seed)
        optim = OptimConfig(learning_rate=5e-3, warmup_steps=50, ema_decay=0.99)
        model, _ = train(model, batcher, epochs=args.epochs, loss_weights={"energy": 1.0, "forces": 10.0},
                         optim=optim, valid_data=valid, valid_every=max(1, args.epochs // 5),
                         log=lambda r: log(f"epoch {r['epoch']}: loss {r['loss']:.4g}, valid "
                                           f"{ {k: round(v, 4) for k, v in r.get('valid', {}).items()} }"))
        model.save(model_path)
        log(f"pre-trained model written to {model_path}")
    fit_before = evaluate(model, model.params, valid)

    # --- spectra before
    spectrum = jax.jit(molecular_spectrum)
    graphs = {n: pf.graphs.periodic_graph(ref[n]["atoms"], model.cutoff, model.species) for n in MOLECULES}
    projectors = {n: vibrational_projector(ref[n]["atoms"]) for n in MOLECULES}

    def spectra(m):
        return {n: np.asarray(spectrum(m, m.params, graphs[n], projectors[n])) for n in MOLECULES}

    before = spectra(model)
    log("spectra of the pre-trained model done")

    # --- fine-tuning on benzene only
    optimizer = optax.adam(args.lr)
    tuned, history = finetune_spectrum(model, ref["benzene"]["atoms"], ref["benzene"]["eigenvalues"], optimizer,
                                       args.steps, log_every=max(1, args.steps // 10),
                                       log=lambda r: log(f"fine-tune step {r['step']}: loss {r['loss']:.4g}, "
                                                         f"benzene MAE {r['mae_cm1']:.1f} cm-1"))
    tuned.save(out / "finetuned_benzene.npz")
    after = spectra(tuned)
    fit_after = evaluate(tuned, tuned.params, valid)

    # --- anchored fine-tuning: benzene's spectrum plus the pre-training energy/force loss
    batcher = Batcher(train_samples, species, args.cutoff, batch_size=8, seed=args.seed)
    target = spectrum_target(ref["benzene"]["atoms"], ref["benzene"]["eigenvalues"], species, args.cutoff)
    anchored, _ = train(model, batcher, epochs=max(1, round(args.steps / len(batcher))),
                        loss_weights={"energy": 1.0, "forces": 10.0, "spectrum": args.anchor_spectrum_weight},
                        optim=OptimConfig(optimizer="adamw", learning_rate=args.lr, schedule="constant",
                                          warmup_steps=0, clip_norm=None, ema_decay=None),
                        spectra=[target], valid_every=10**6)
    anchored.save(out / "finetuned_benzene_anchored.npz")
    after_anchored = spectra(anchored)
    fit_anchored = evaluate(anchored, anchored.params, valid)
    log("anchored fine-tuning done")

    # --- table
    rows = {}
    for n in MOLECULES:
        nu_ref = eigenvalues_to_cm1(ref[n]["eigenvalues"])
        nu_b, nu_a = eigenvalues_to_cm1(before[n]), eigenvalues_to_cm1(after[n])
        nu_anchored = eigenvalues_to_cm1(after_anchored[n])
        nu_method = eigenvalues_to_cm1(ref[n]["pretrain_method_eigenvalues"])
        rows[n] = {"role": "train" if n == "benzene" else "held out", "modes": len(nu_ref),
                   "mae_pretrain_method_cm1": float(np.mean(np.abs(nu_method - nu_ref))),
                   "mae_before_cm1": float(np.mean(np.abs(nu_b - nu_ref))),
                   "mae_after_cm1": float(np.mean(np.abs(nu_a - nu_ref))),
                   "max_before_cm1": float(np.max(np.abs(nu_b - nu_ref))),
                   "max_after_cm1": float(np.max(np.abs(nu_a - nu_ref))),
                   "mae_after_anchored_cm1": float(np.mean(np.abs(nu_anchored - nu_ref))),
                   "reference_cm1": nu_ref.tolist(), "before_cm1": nu_b.tolist(), "after_cm1": nu_a.tolist(),
                   "after_anchored_cm1": nu_anchored.tolist()}
    print()
    print(f"Spectrum MAE vs GFN2-xTB (sorted vibrational frequencies, cm-1); model pre-trained on "
          f"{args.pretrain_method} energies+forces, fine-tuned on benzene's spectrum ({args.steps} Adam steps, "
          f"lr {args.lr})")
    print(f"{'molecule':<9} {'role':<9} {'modes':>5} {'MAE before':>11} {'MAE after':>10} {'change':>8} "
          f"{'max before':>11} {'max after':>10} {'MAE anchored':>13} {args.pretrain_method + ' itself':>15}")
    for n, r in rows.items():
        change = r["mae_after_cm1"] - r["mae_before_cm1"]
        print(f"{n:<9} {r['role']:<9} {r['modes']:>5} {r['mae_before_cm1']:>11.1f} {r['mae_after_cm1']:>10.1f} "
              f"{change:>+8.1f} {r['max_before_cm1']:>11.1f} {r['max_after_cm1']:>10.1f} "
              f"{r['mae_after_anchored_cm1']:>13.1f} {r['mae_pretrain_method_cm1']:>15.1f}")
    print(f"('{args.pretrain_method} itself': its own spectrum at its own minimum vs GFN2-xTB, no model; "
          f"'anchored': fine-tuned with the energy/force loss kept)")
    print(f"force MAE on the {args.pretrain_method} validation set (eV/Å): before {fit_before['forces_mae']:.4f}, "
          f"after {fit_after['forces_mae']:.4f}, anchored {fit_anchored['forces_mae']:.4f}; energy MAE "
          f"(eV/atom): before {fit_before['energy_mae']:.4f}, after {fit_after['energy_mae']:.4f}, "
          f"anchored {fit_anchored['energy_mae']:.4f}")

    results = {"args": {k: str(v) for k, v in vars(args).items()}, "molecules": rows,
               "valid_fit_before": fit_before, "valid_fit_after": fit_after, "valid_fit_anchored": fit_anchored,
               "finetune_history": history.records,
               "seconds": time.perf_counter() - t0}
    (out / "results.json").write_text(json.dumps(results, indent=1))
    plot(rows, out / "spectra.png", args.pretrain_method)
    log(f"wrote {out / 'results.json'} and {out / 'spectra.png'}")
    return results


def plot(rows: dict, path: Path, pretrain_method: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(rows), 2, figsize=(12, 3.2 * len(rows)), gridspec_kw={"width_ratios": [2, 1]})
    for (name, r), (ax, ax_err) in zip(rows.items(), axes):
        for k, (key, color, label) in enumerate([("reference_cm1", "k", "GFN2-xTB"),
                                                 ("before_cm1", "tab:red", f"pre-trained ({pretrain_method} data)"),
                                                 ("after_cm1", "tab:blue", "fine-tuned on benzene"),
                                                 ("after_anchored_cm1", "tab:green", "fine-tuned, E/F kept")]):
            ax.vlines(r[key], k, k + 0.8, color=color, lw=1, label=label)
        ax.set_yticks([])
        ax.set_title(f"{name} ({r['role']}): MAE {r['mae_before_cm1']:.0f} → {r['mae_after_cm1']:.0f} "
                     f"(anchored {r['mae_after_anchored_cm1']:.0f}) cm⁻¹")
        ax.set_xlabel("frequency (cm⁻¹)")
        ref = np.array(r["reference_cm1"])
        ax_err.plot(ref, np.array(r["before_cm1"]) - ref, "o", color="tab:red", ms=3, label="before")
        ax_err.plot(ref, np.array(r["after_cm1"]) - ref, "o", color="tab:blue", ms=3, label="after")
        ax_err.plot(ref, np.array(r["after_anchored_cm1"]) - ref, "o", color="tab:green", ms=3, label="anchored")
        ax_err.axhline(0, color="k", lw=0.5)
        ax_err.set_xlabel("reference frequency (cm⁻¹)")
        ax_err.set_ylabel("model − reference (cm⁻¹)")
    axes[0][0].legend(loc="upper left", fontsize=8)
    axes[0][1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
