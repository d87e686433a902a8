"""Force constants with a deep (universal-size) model: ours against phonopy's finite displacements,
the full supercell Hessian and our cluster constructions, one run, each method in a fresh process.

    python -m benchmarks.bench_deep_force_constants [--model random-nequix|NAME] [--cases ...]
        [--fd-limit N] [--full-rows N] [--scaling]

Model: ``random-nequix`` (random weights of nequix-mp-1's shape: 4 layers, 6 Å, 128x0e + 64x1o +
32x2e + 32x3o, l_max 3) or any name or file ``pf.models.load`` takes (e.g. nequix-mp-1-pft).

Cases (unit cell → the supercell ours picks by default, at least 15 Å wide):
  si         Si, 2 atoms                       nacl    NaCl, 2 atoms (no NAC)
  lowsym     a 56-atom P2_1/c crystal (14 inequivalent atoms on general positions)
  rattled    Si 3×3×3 conventional cells rattled by 0.03 Å: 216 atoms, no symmetry, the cell
             itself as supercell

Methods, all on the same supercell:
  ours        ``crystal_force_constants(construction="auto")`` (the supercell construction here)
  phonopy-fd  phonopy's displacements (0.01 Å, ± where symmetry needs it) through ``pf.Calculator``
  full        the full supercell Hessian, 3N products (``jax.linearize`` of the gradient mapped over
              the 3N unit vectors, as nequix's ``get_hessian``), in float64
  masked, paper  our exact cluster constructions: run only where the planner says they fit in
              memory and their estimated work is within ``CLUSTER_LIMIT`` × the supercell
              construction's (with a deep model they are not; the planner's estimate is printed)

For ``phonopy-fd``, ``full`` and ``ours`` on large cases, ``--fd-limit`` / ``--full-rows`` /
``--ours-products`` time that many force evaluations / products and extrapolate linearly to all
of them (ours: the supercell construction's own rows, timed with its block size, the rest at the
rate of its blocks after the second, once the optimised function runs; phonopy-fd: the mean of the
evaluations after the first) (marked "extrapolated"; the products and force evaluations are
independent and of equal cost). Each row: wall time including
compilation, time without compilation (the compile and first-call overheads subtracted), peak
RSS of the process, and the ratio to ours. ``--scaling``: ours on symmetric Si supercells of
64–1,000 atoms (time, peak memory against N).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

CASES = ("si", "nacl", "lowsym", "rattled")
CLUSTER_LIMIT = 20.0  # cluster constructions estimated at more than this × our work are not run (hours)


def make_model(name: str):
    import phonax_fast as pf

    if name == "random-nequix":
        return pf.models.Nequix.init(["Si", "Na", "Cl", "O", "C"], seed=0)
    return pf.models.load(name)


def low_symmetry_crystal(n_sites: int = 14, min_distance: float = 1.55, seed: int = 5):
    """A 56-atom P2_1/c crystal: ``n_sites`` general positions (4 atoms each) added one at a time at
    random, each kept only if all its images stay ``min_distance`` Å from every atom (Si and O)."""
    from ase import Atoms
    from ase.geometry import get_distances
    from ase.geometry.cell import cellpar_to_cell
    from ase.spacegroup import Spacegroup

    group, cell = Spacegroup(14), cellpar_to_cell([8.9, 9.4, 10.3, 90, 101, 90])
    rng = np.random.default_rng(seed)
    positions, symbols = np.zeros((0, 3)), []
    while len(symbols) < 4 * n_sites:
        sites, _ = group.equivalent_sites([rng.uniform(size=3)])
        if len(sites) != 4:
            continue
        trial = np.concatenate([positions, sites])
        _, d = get_distances(trial @ cell, cell=cell, pbc=True)
        np.fill_diagonal(d, np.inf)
        if d.min() >= min_distance:
            positions = trial
            symbols += ["Si" if len(symbols) < 16 else "O"] * 4
    return Atoms(symbols, scaled_positions=positions, cell=cell, pbc=True)


def make_case(case: str):
    """The unit cell of a case."""
    from ase.build import bulk

    if case == "si":
        atoms = bulk("Si", "diamond", a=5.43)
    elif case == "nacl":
        atoms = bulk("NaCl", "rocksalt", a=5.64)
    elif case == "lowsym":
        atoms = low_symmetry_crystal()
    else:
        atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat((3, 3, 3))
        atoms.rattle(0.03, seed=1)
    return atoms


def run_method(model_name: str, case: str, method: str, fd_limit: int, full_rows: int, ours_products: int = 0) -> dict:
    """Run one (case, method) here: {"wall", "compute", "peak_rss_gib", "note"}."""
    import jax
    import jax.numpy as jnp

    import phonax_fast as pf
    from phonax_fast.forceconstants import plan_construction
    from phonax_fast.graphs.neighbors import periodic_graph
    from phonax_fast.graphs.supercell import make_supercell

    model = make_model(model_name)
    atoms = make_case(case)
    plan = plan_construction(atoms, model, supercell=(1, 1, 1) if case == "rattled" else None)
    matrix = plan.supercell
    start = time.perf_counter()
    note = ""
    extrapolated = ours_extrapolated(atoms, model, matrix, ours_products) if method == "ours" and ours_products \
        and plan.construction == "supercell" else None
    if extrapolated is not None:
        wall, compute, note = extrapolated
    elif method == "ours":
        _, report = pf.forceconstants.crystal_force_constants(atoms, model, supercell=matrix)
        wall = time.perf_counter() - start
        compute = wall - report.timing.compile_seconds
        note = f"{report.construction}, {report.timing.products} products, blocks of {report.timing.block_size}"
    elif method in ("masked", "paper"):
        estimate = plan.estimates[method]
        ratio = estimate.work / plan.estimates["supercell"].work
        try:
            plan_construction(atoms, model, method)
        except ValueError as err:
            return {"wall": float("nan"), "compute": float("nan"), "peak_rss_gib": float("nan"),
                    "note": f"not run: {err}"}
        if ratio > CLUSTER_LIMIT:
            return {"wall": float("nan"), "compute": float("nan"), "peak_rss_gib": float("nan"),
                    "note": f"not run: {estimate.products} products on a {estimate.nodes}-atom cluster, about "
                            f"{ratio:.0f}× the supercell construction's work (planner estimate)"}
        _, report = pf.forceconstants.crystal_force_constants(atoms, model, method)
        wall = time.perf_counter() - start
        compute = wall - report.timing.compile_seconds
        note = f"{estimate.products} products on {estimate.nodes} atoms"
    elif method == "phonopy-fd":
        from ase import Atoms
        from phonopy import Phonopy
        from phonopy.structure.atoms import PhonopyAtoms

        unit = PhonopyAtoms(cell=atoms.cell[:], scaled_positions=atoms.get_scaled_positions(), symbols=atoms.get_chemical_symbols())
        phonon = Phonopy(unit, supercell_matrix=matrix.T, primitive_matrix=np.eye(3))
        phonon.generate_displacements(distance=0.01)
        cells = phonon.supercells_with_displacements
        calc = pf.Calculator(model)
        times = []
        forces = []
        for k, sc in enumerate(cells[: fd_limit or None]):
            t0 = time.perf_counter()
            displaced = Atoms(sc.symbols, cell=sc.cell, scaled_positions=sc.scaled_positions, pbc=True)
            displaced.calc = calc
            forces.append(displaced.get_forces())
            times.append(time.perf_counter() - t0)
        if len(forces) == len(cells):
            phonon.forces = np.array(forces)
            phonon.produce_force_constants()
            wall = time.perf_counter() - start
        else:  # extrapolate: the first evaluation (compilation) once, the mean of the others for the rest
            per = np.mean(times[1:]) if len(times) > 1 else times[0]
            wall = time.perf_counter() - start + per * (len(cells) - len(forces))
            note = f"extrapolated from {len(forces)} of {len(cells)} force evaluations; "
        compute = wall - (times[0] - (np.mean(times[1:]) if len(times) > 1 else 0.0))
        note += f"{len(cells)} displaced supercells of {len(cells[0])} atoms"
    else:  # full supercell Hessian
        sc = make_supercell(atoms, matrix)
        graph = jax.tree_util.tree_map(jnp.asarray, periodic_graph(sc.atoms, model.cutoff, model.species))
        n3 = 3 * len(sc.atoms)
        rows = min(full_rows or n3, n3)

        @jax.jit
        def hessian_rows(x, basis):
            grad = jax.grad(lambda y: model.energy(graph._replace(positions=y)))
            _, hvp = jax.linearize(grad, x)
            return jax.lax.map(hvp, basis)

        basis = jnp.eye(n3)[:rows].reshape(rows, -1, 3)
        t0 = time.perf_counter()
        compiled = hessian_rows.lower(graph.positions, basis).compile()
        compile_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        jax.block_until_ready(compiled(graph.positions, basis))
        run = time.perf_counter() - t0
        wall = time.perf_counter() - start + run * (n3 / rows - 1)
        compute = wall - compile_seconds
        if rows < n3:
            note = f"extrapolated from {rows} of {n3} products; "
        note += f"{n3} products on {len(sc.atoms)} atoms"
    return {"wall": wall, "compute": compute, "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
            "note": note}


def ours_extrapolated(atoms, model, matrix, products: int):
    """(wall s without set-up, execution s, note) of the supercell construction's rows timed for the
    first ``products`` and extrapolated to all; None when there are no more rows than that."""
    from phonax_fast.derivatives import HessianTiming, hessian_products
    from phonax_fast.forceconstants.supercell import row_plan, row_tangents
    from phonax_fast.forceconstants.symmetry import atom_symmetry
    from phonax_fast.graphs.neighbors import periodic_graph
    from phonax_fast.graphs.supercell import make_supercell

    sc = make_supercell(atoms, matrix)
    nodes, directions = row_tangents(row_plan(atoms, atom_symmetry(atoms, supercell_matrix=sc.matrix)))
    if len(nodes) <= products:
        return None
    start = time.perf_counter()
    timing = HessianTiming()
    done = []  # (time, products done) at the end of each block
    hessian_products(model, periodic_graph(sc.atoms, model.cutoff, model.species), nodes[:products],
                     directions[:products], timing=timing,
                     on_block=lambda k, rows: done.append((time.perf_counter(), k.stop, k.stop - k.start)))
    # the rest at the steady rate: blocks after the second (the first runs the quickly compiled
    # function, the second follows the switch to the optimised one), full blocks only
    full = [(t, n) for t, n, size in done if size == timing.block_size]
    if len(full) >= 4:
        (t0, n0), (t1, n1) = full[1], full[-1]
        per_product = (t1 - t0) / (n1 - n0)
    else:
        per_product = timing.execute_seconds / products
    rest = per_product * (len(nodes) - products)
    return (time.perf_counter() - start + rest, timing.execute_seconds + rest,
            f"extrapolated from {products} of {len(nodes)} products at {per_product:.2f} s each; supercell, "
            f"blocks of {timing.block_size}")


def run_scaling(model_name: str) -> list[dict]:
    """Ours on symmetric Si supercells of growing size (1 product each): time and peak memory vs N."""
    out = []
    for n in (2, 3, 4, 5):
        done = subprocess.run([sys.executable, "-m", "benchmarks.bench_deep_force_constants", "--inside-scaling", str(n),
                               "--model", model_name], capture_output=True, text=True, check=True)
        out.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="random-nequix")
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    parser.add_argument("--methods", nargs="+", default=["ours", "phonopy-fd", "full", "masked", "paper"])
    parser.add_argument("--fd-limit", type=int, default=0, help="time at most this many force evaluations (0: all)")
    parser.add_argument("--full-rows", type=int, default=0, help="time at most this many full-Hessian products (0: all)")
    parser.add_argument("--ours-products", type=int, default=0,
                        help="time at most this many of ours' products (supercell construction) and extrapolate (0: all)")
    parser.add_argument("--scaling", action="store_true")
    parser.add_argument("--inside", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--inside-scaling", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        print(json.dumps(run_method(args.model, args.inside[0], args.inside[1], args.fd_limit, args.full_rows,
                                    args.ours_products)))
        return
    if args.inside_scaling:
        import phonax_fast as pf
        from ase.build import bulk

        atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat((args.inside_scaling,) * 3)
        start = time.perf_counter()
        _, report = pf.forceconstants.crystal_force_constants(atoms, make_model(args.model), "supercell",
                                                              supercell=(1, 1, 1))
        print(json.dumps({"atoms": len(atoms), "wall": time.perf_counter() - start,
                          "compile": report.timing.compile_seconds, "execute": report.timing.execute_seconds,
                          "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}))
        return
    print(f"model: {args.model}")
    for case in args.cases:
        results = {}
        for method in args.methods:
            done = subprocess.run([sys.executable, "-m", "benchmarks.bench_deep_force_constants", "--inside", case, method,
                                   "--model", args.model, "--fd-limit", str(args.fd_limit), "--full-rows",
                                   str(args.full_rows), "--ours-products", str(args.ours_products)], capture_output=True, text=True)
            if done.returncode:
                print(f"{case} {method}: failed\n{done.stderr[-2000:]}")
                continue
            results[method] = json.loads(done.stdout.strip().splitlines()[-1])
        ours = results.get("ours")
        for method, r in results.items():
            ratio = f"{r['wall'] / ours['wall']:6.2f}× / {r['compute'] / ours['compute']:6.2f}×" if ours and r["wall"] == r["wall"] else "   –"
            print(f"{case:8s} {method:11s} wall {r['wall']:8.1f} s  without compile {r['compute']:8.1f} s  peak "
                  f"{r['peak_rss_gib']:5.2f} GiB  time/ours {ratio}  {r['note']}")
    if args.scaling:
        for row in run_scaling(args.model):
            print(f"scaling: Si {row['atoms']:5d} atoms: {row['wall']:7.1f} s (compile {row['compile']:.1f} s, "
                  f"execute {row['execute']:.1f} s), peak {row['peak_rss_gib']:.2f} GiB")


if __name__ == "__main__":
    main()
