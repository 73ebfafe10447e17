"""Relax a structure with an ASE calculator: FIRE on positions and cell (Frechet cell filter)."""

from __future__ import annotations

import math
from typing import Any

from pymatgen.core import Structure

__all__ = ["relax"]


def _one_blas_thread() -> Any:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn brings it
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def relax(
    structure: Structure,
    calculator: Any,
    *,
    fmax: float = 0.05,
    steps: int = 150,
    cell: bool = True,
) -> dict[str, Any]:
    """Relax ``structure`` and return its energy.

    Args:
        structure: Ordered pymatgen structure.
        calculator: An ASE calculator (see :func:`~.potential.load_potential`).
        fmax: Force threshold (eV/Å; the cell filter scales stresses to the same units).
        steps: Most FIRE steps; 0 gives a single-point energy.
        cell: Relax the cell too (``FrechetCellFilter``; ``ExpCellFilter`` on older ASE).

    Returns:
        dict with ``energy_per_atom`` (eV/atom), ``structure`` (relaxed), ``steps``,
        ``converged`` (False when ``steps`` ran out) and ``fmax`` reached.

    Raises:
        Whatever the calculator raises (an element it does not know, ...); the caller turns
        that into a per-composition message.
    """
    from ase.optimize import FIRE
    from pymatgen.io.ase import AseAtomsAdaptor

    atoms = AseAtomsAdaptor.get_atoms(structure)
    atoms.calc = calculator
    n_steps, converged = 0, True
    if steps > 0:
        target: Any = atoms
        if cell and all(atoms.pbc):
            try:
                from ase.filters import FrechetCellFilter as Filter
            except ImportError:  # ASE < 3.23
                from ase.constraints import ExpCellFilter as Filter  # type: ignore[no-redef]
            target = Filter(atoms)
        opt = FIRE(target, logfile=None)
        # The cell filter's 3x3 matrix exponentials go through BLAS; with BLAS's own thread
        # pool on a busy machine each tiny solve took ~0.1 s (measured), so pin one thread.
        with _one_blas_thread():
            converged = bool(opt.run(fmax=fmax, steps=steps))
        n_steps = int(opt.nsteps)
    energy = float(atoms.get_potential_energy()) / len(atoms)
    forces = atoms.get_forces()
    f_reached = float((forces**2).sum(axis=1).max() ** 0.5) if len(atoms) else 0.0
    if not math.isfinite(energy):
        raise FloatingPointError("the potential returned a non-finite energy")
    out = AseAtomsAdaptor.get_structure(atoms)
    return {
        "energy_per_atom": energy,
        "structure": Structure(out.lattice, out.species, out.frac_coords),
        "steps": n_steps,
        "converged": converged,
        "fmax": f_reached,
    }
