"""``stability()``: energy above a DFT reference hull from a universal potential."""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .cache import default_stability_cache
from .compute import compute_one
from .errors import StabilityError
from .reference import ReferenceHull, formula_key, reference_hull

__all__ = ["StabilityResult", "stability"]


@dataclass
class StabilityResult:
    """The stability estimate of one composition.

    Attributes:
        composition: The composition as a formula.
        e_above_hull: Energy above the DFT reference hull, eV/atom (negative: below it, a
            predicted new ground state); NaN when it could not be estimated.
        formation_energy: The potential's formation energy, eV/atom, in the reference hull's
            correction scheme (``reference["corrections"]``; MP2020 without a hull), against
            elemental references relaxed with the same potential.
        structure: The lowest-energy relaxed structure (pymatgen ``Structure``) or None.
        prototype: The prototype it came from.
        reference: The hull: ``name``, ``corrections``, ``hull_energy``, ``decomposition``,
            ``n_compounds``.
        tried: One row per prototype tried (energy, steps, converged, error, cached).
        dft_e_above_hull: Materials Project's energy above hull for this composition when it
            is on record (mp_e_hull), else None.
        dft_formation_energy: The reference's DFT formation energy when on record, else None.
        potential: Potential name and version.
        warnings: Sentences such as a sparse reference hull.
        error: None, or why no estimate could be made.
        seconds: Wall time of the relaxations (0 when all came from the cache).
        elements: The potential's elemental reference energies (eV/atom) and structures.
        hull: The :class:`ReferenceHull` used (for plots), or None.
    """

    composition: str
    e_above_hull: float = math.nan
    formation_energy: float = math.nan
    structure: Any = None
    prototype: str | None = None
    reference: dict[str, Any] = field(default_factory=dict)
    tried: pd.DataFrame = field(default_factory=pd.DataFrame)
    dft_e_above_hull: float | None = None
    dft_formation_energy: float | None = None
    potential: str = ""
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    elements: dict[str, Any] = field(default_factory=dict)
    hull: ReferenceHull | None = field(default=None, repr=False)

    @property
    def stable(self) -> bool | None:
        """``e_above_hull <= 0.05`` eV/atom (None without an estimate)."""
        return None if math.isnan(self.e_above_hull) else bool(self.e_above_hull <= 0.05)

    def to_row(self) -> dict[str, Any]:
        """One table row (used for batches)."""
        return {
            "composition": self.composition,
            "e_above_hull": self.e_above_hull,
            "formation_energy": self.formation_energy,
            "stable": self.stable,
            "prototype": self.prototype,
            "dft_e_above_hull": self.dft_e_above_hull,
            "dft_formation_energy": self.dft_formation_energy,
            "hull_energy": self.reference.get("hull_energy"),
            "tried": ", ".join(str(p) for p in self.tried.get("prototype", [])),
            "warnings": "; ".join(self.warnings),
            "error": self.error,
            "seconds": self.seconds,
            "structure": self.structure,
        }

    def __repr__(self) -> str:
        if self.error:
            return f"StabilityResult({self.composition}: no estimate — {self.error})"
        dft = "" if self.dft_e_above_hull is None else f", DFT {self.dft_e_above_hull:.3f}"
        return (
            f"StabilityResult({self.composition}: E_hull {self.e_above_hull:+.3f} eV/atom{dft}; "
            f"E_f {self.formation_energy:.3f} eV/atom from {self.prototype} with "
            f"{self.potential}; reference {self.reference.get('name', 'none')}"
            + (f"; {len(self.warnings)} warning(s)" if self.warnings else "")
            + ")"
        )


def _parse(x: Any) -> tuple[dict[str, float], str]:
    from ..core.composition import CompositionError, parse_composition, to_formula

    try:
        fr = parse_composition(x)
    except CompositionError as exc:
        raise StabilityError(f"cannot estimate the stability of {x!r}: {exc}") from None
    return fr, to_formula(fr)


def _finish(task: dict[str, Any], raw: dict[str, Any], hull: ReferenceHull | None,
            potential: str) -> StabilityResult:  # fmt: skip
    from pymatgen.core import Structure

    fr = task["fractions"]
    res = StabilityResult(
        composition=task["formula"],
        potential=raw.get("potential_version") or potential,
        error=raw.get("error"),
        seconds=float(raw["seconds"]),
    )
    res.tried = pd.DataFrame(raw.get("tried") or [], columns=None)
    res.elements = raw.get("elements") or {}
    res.hull = hull
    if hull is not None:
        res.dft_formation_energy = hull.formation_energy(fr)
        res.dft_e_above_hull = hull.dft_e_above_hull(fr)
    if raw.get("error"):
        return res
    res.structure = Structure.from_dict(raw["structure"])
    res.prototype = raw["prototype"]
    res.formation_energy = float(raw["formation_energy"])
    if not raw.get("converged", True):
        res.warnings.append(f"the {res.prototype} relaxation stopped before converging")
    if hull is None:
        res.warnings.append("no reference hull (reference=None): formation energy only")
        return res
    placed = hull.place(fr, res.formation_energy)
    res.e_above_hull = placed["e_above_hull"]
    res.reference = {"name": hull.name, "corrections": hull.corrections,
                     **{k: v for k, v in placed.items() if k != "warnings"}}  # fmt: skip
    res.warnings += placed["warnings"]
    if len(fr) > 1:
        res.warnings.append(
            f"structure from {len(res.tried)} prototype(s) only: the real ground state may be "
            "another structure, so this is an upper bound on the potential's E_hull"
        )
    return res


def _run(tasks: list[dict[str, Any]], n_jobs: int, client: Any, progress: Any) -> list[dict]:
    """Compute every task in this process, a process pool or on a Dask client, in order."""
    total = len(tasks)
    results: list[dict[str, Any] | None] = [None] * total
    done = 0

    def tick(i: int) -> None:
        nonlocal done
        done += 1
        r = results[i]
        msg = f"{tasks[i]['formula']}: " + (r["error"] if r and r.get("error") else "done")
        progress("stability", done, total, msg)

    if client is not None:
        from dask.distributed import as_completed

        futures = client.map(compute_one, tasks, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        for fut in as_completed(futures):
            i = index[fut.key]
            try:
                results[i] = fut.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker fails one row only
                results[i] = _failed(tasks[i], exc)
            tick(i)
    elif n_jobs > 1 and total > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures import as_completed as done_first

        # spawn: forking a process that already holds torch's thread pools can deadlock.
        with ProcessPoolExecutor(max_workers=min(n_jobs, total),
                                 mp_context=mp.get_context("spawn")) as pool:  # fmt: skip
            futs = {pool.submit(compute_one, t): i for i, t in enumerate(tasks)}
            for fut in done_first(futs):
                i = futs[fut]
                try:
                    results[i] = fut.result()
                except Exception as exc:  # noqa: BLE001 - a crashed worker fails its row
                    results[i] = _failed(tasks[i], exc)
                tick(i)
    else:
        for i, t in enumerate(tasks):
            results[i] = compute_one(t)
            tick(i)
    return [r if r is not None else _failed(t, RuntimeError("not run")) for r, t in
            zip(results, tasks, strict=True)]  # fmt: skip


def _failed(task: dict[str, Any], exc: BaseException) -> dict[str, Any]:
    return {"formula": task["formula"], "error": f"{type(exc).__name__}: {exc}", "seconds": 0.0,
            "tried": []}  # fmt: skip


def stability(
    compositions: Any,
    *,
    relax: bool = True,
    prototypes: str | Sequence[str] = "auto",
    potential: str = "sevennet",
    n_jobs: int = 1,
    cache: bool | str | os.PathLike[str] = True,
    reference: Any = "mp",
    callback: Any = None,
    client: Any = None,
    data_dir: str | os.PathLike[str] | None = None,
    max_atoms: int = 20,
    max_prototypes: int = 4,
    fmax: float = 0.05,
    steps: int = 150,
    threads: int | None = 1,
) -> StabilityResult | pd.DataFrame:
    """Estimate whether compositions are stable: energy above a DFT reference hull.

    For each composition a handful of prototypes (ordered approximants for fractional
    compositions) are relaxed with a universal potential (FIRE with a Frechet cell filter), the
    lowest energy wins, its formation energy is taken against elemental references relaxed
    with the same potential, both moved into the reference hull's correction scheme (SevenNet's
    energies are raw GGA/GGA+U, CHGNet's already hold MP2020's corrections; the default ``"mp"``
    data are in MP's pre-2020 scheme; see :mod:`jupyter_matopt.stability.corrections`), and
    placed against the
    convex hull of DFT formation energies of the chemical system (pymatgen ``PhaseDiagram``).
    A sparse hull (few compounds of the system on record) is named in ``warnings``.

    Needs the optional extra ``mlip`` (``pip install "jupyter_matopt[mlip]"``). Torch runs
    **one thread per relaxation** by default (``threads=1``): on a small machine several
    compositions in parallel processes (``n_jobs``) beat one relaxation on many threads.

    Args:
        compositions: One composition (formula, mapping, ``Composition``) or a list of them.
        relax: Relax positions and cell (else single-point energies of the prototypes).
        prototypes: ``"auto"`` (picked by stoichiometry; see
            :mod:`jupyter_matopt.stability.candidates`) or a list of prototype names.
        potential: ``"sevennet"`` (SevenNet 0.13, 7net-l3i5, default) or ``"chgnet"``.
        n_jobs: Parallel processes for a list.
        cache: True (``$MATOPT_CACHE_DIR/stability``), a folder, or False. Relaxations are
            cached as JSON by (composition, prototype, potential version, settings), so a
            kernel restart loses nothing.
        reference: ``"mp"`` (Materials Project formation energies, CritExam__Ef), ``"oqmd"``,
            a DataFrame with ``formula`` and ``formation_energy`` (eV/atom) columns, a
            :class:`~jupyter_matopt.stability.reference.ReferenceHull`, or None.
        callback: Progress, ``callback(event, done, total, message)`` after each composition.
        client: A ``dask.distributed.Client`` to run the compositions on.
        data_dir: Folder holding ``crabnet_benchmark/`` (default ``$MATOPT_DATA_DIR``).
        max_atoms: Largest cell relaxed.
        max_prototypes: With ``"auto"``, the most prototypes tried per composition.
        fmax: Force threshold of the relaxation, eV/Å.
        steps: Most FIRE steps per relaxation.
        threads: Torch threads per process (None: torch's default).

    Returns:
        For one composition a :class:`StabilityResult`; for a list a DataFrame with one row
        each (``composition``, ``e_above_hull``, ``formation_energy``, ``stable``,
        ``prototype``, ``dft_e_above_hull``, ``dft_formation_energy``, ``hull_energy``,
        ``tried``, ``warnings``, ``error``, ``seconds``, ``structure``). A composition that
        fails (no prototype fits, an element the potential does not know, failed
        relaxations, unparsable input) gets its message in ``error``; the batch goes on.

    Raises:
        StabilityError: a bad option (potential, reference, n_jobs...), a single composition
            that does not parse, or the extra ``mlip`` missing.
    """
    from .._progress import as_progress
    from .potential import potential_version

    progress = as_progress(callback, error=StabilityError)
    if not isinstance(n_jobs, int) or n_jobs < 1:
        raise StabilityError(f"n_jobs must be an int >= 1, got {n_jobs!r}")
    if not isinstance(max_atoms, int) or max_atoms < 1:
        raise StabilityError(f"max_atoms must be an int >= 1, got {max_atoms!r}")
    version = potential_version(potential)  # fails early, naming the extra
    if cache is True:
        cache_dir: str | None = str(default_stability_cache())
    elif cache is False or cache is None:
        cache_dir = None
    else:
        cache_dir = os.fspath(cache)
    single = isinstance(compositions, (str, Mapping)) or hasattr(compositions, "get_el_amt_dict")
    items = [compositions] if single else list(compositions)
    settings = {"prototypes": prototypes if isinstance(prototypes, str) else list(prototypes),
                "max_atoms": max_atoms, "potential": potential, "relax": relax, "fmax": fmax,
                "steps": steps, "cache_dir": cache_dir, "threads": threads,
                "max_candidates": max_prototypes}  # fmt: skip
    tasks, bad = [], {}
    for i, x in enumerate(items):
        try:
            fr, formula = _parse(x)
        except StabilityError as exc:
            if single:
                raise
            bad[i] = str(exc)
            continue
        tasks.append({**settings, "fractions": fr, "formula": formula, "key": formula_key(fr),
                      "index": i})  # fmt: skip
    hull = reference_hull(reference, data_dir=data_dir)  # after parsing: bad input fails fast
    # The potential's energies get the hull's own correction scheme (see corrections.py).
    scheme = hull.corrections if hull is not None else "mp2020"
    for t in tasks:
        t["corrections"] = scheme
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch/e3nn/pymatgen warnings inside relaxations
        raw = _run(tasks, n_jobs, client, progress)
    by_index = {t["index"]: _finish(t, r, hull, version) for t, r in zip(tasks, raw, strict=True)}
    if single:
        return by_index[0]
    rows = []
    for i, x in enumerate(items):
        if i in bad:
            failed = StabilityResult(composition=str(x), error=bad[i], potential=version)
            rows.append(failed.to_row())
        else:
            rows.append(by_index[i].to_row())
    return pd.DataFrame(rows)
