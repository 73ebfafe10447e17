"""The part of a stability estimate that needs the potential: relaxations and their energies.

Runs in whichever process does the work (the caller's, a process pool's or a Dask worker's):
:func:`compute_one` takes and returns plain JSON-able dicts, loads the potential once per
process, reads and writes the on-disk cache, and never raises for a failure inside a
relaxation: it returns the failure as a message.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from .cache import ResultCache
from .candidates import candidate_structures, element_structures
from .corrections import check_scheme, corrected_energy, formation_energy
from .potential import energy_scheme, load_potential, potential_version, supported_elements
from .relax import relax as _relax

__all__ = ["compute_one"]

_CACHE_FORMAT = 1


def _key(kind: str, what: str, proto: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    return {"format": _CACHE_FORMAT, "kind": kind, "composition": what, "prototype": proto,
            **settings}  # fmt: skip


def _relax_cached(
    kind: str, what: str, proto: str, structure: Any, settings: dict[str, Any], cache: ResultCache
) -> dict[str, Any]:
    from pymatgen.core import Structure

    key = _key(kind, what, proto, {k: v for k, v in settings.items() if k != "threads"})
    hit = cache.get(key)
    if hit is not None:
        return {**hit, "cached": True}
    t0 = time.perf_counter()
    row: dict[str, Any] = {"prototype": proto, "atoms": len(structure)}
    try:
        calc = load_potential(settings["potential"], threads=settings.get("threads", 1))
        out = _relax(
            structure,
            calc,
            fmax=settings["fmax"],
            steps=settings["steps"] if settings["relax"] else 0,
            cell=settings["relax"] and proto != "dimer",  # a molecule keeps its box
        )
        row.update(
            energy_per_atom=out["energy_per_atom"],
            converged=out["converged"],
            steps=out["steps"],
            fmax=out["fmax"],
            structure=out["structure"].as_dict(),
            error=None,
        )
    except Exception as exc:  # noqa: BLE001 - one failed relaxation is a message, not a crash
        row.update(energy_per_atom=None, converged=False, steps=0, structure=None,
                   error=f"{type(exc).__name__}: {exc}")  # fmt: skip
    row["seconds"] = time.perf_counter() - t0
    if row["error"] is None:
        cache.put(key, row)  # failures are not cached: they may be transient
    row["cached"] = False
    if row.get("structure") is not None:
        Structure.from_dict(row["structure"])  # fail here, not later, on a bad round trip
    return row


def _known_elements(settings: dict[str, Any], cache: ResultCache) -> set[str] | None:
    """Elements the potential knows, from the cache when possible (no model load then)."""
    key = {"format": _CACHE_FORMAT, "kind": "elements", "potential": settings["potential_version"]}
    hit = cache.get(key)
    if hit is not None:
        return set(hit["elements"]) if hit["elements"] is not None else None
    load_potential(settings["potential"], threads=settings.get("threads", 1))
    known = supported_elements(settings["potential"])
    cache.put(key, {"elements": sorted(known) if known is not None else None})
    return known


def _element_energy(el: str, settings: dict[str, Any], cache: ResultCache) -> dict[str, Any]:
    rows = [
        _relax_cached("element", el, name, s, {**settings, "relax": True}, cache)
        for name, s in element_structures(el)
    ]
    ok = [r for r in rows if r["error"] is None]
    if not ok:
        raise RuntimeError(f"every elemental reference for {el} failed: {rows[0]['error']}")
    best = min(ok, key=lambda r: r["energy_per_atom"])
    return {"energy_per_atom": best["energy_per_atom"], "prototype": best["prototype"]}


def compute_one(task: Mapping[str, Any]) -> dict[str, Any]:
    """Relax the candidates of one composition and its elemental references.

    Args:
        task: ``fractions`` (``{element: fraction}``), ``formula``, ``prototypes``,
            ``max_atoms``, ``potential``, ``relax``, ``fmax``, ``steps``, ``cache_dir``
            (None: no cache), ``threads``, ``corrections`` (the reference hull's scheme, see
            :mod:`~jupyter_matopt.stability.corrections`; default ``"mp2020"``).

    Returns:
        A JSON-able dict: ``formula``, ``prototype`` (winner), ``energy_per_atom`` (raw),
        ``corrected_energy_per_atom`` (in ``corrections``' scheme), ``formation_energy``
        (eV/atom, against the potential's own elemental references in the same scheme),
        ``corrections``, ``structure`` (dict), ``tried`` (rows),
        ``elements`` (reference energy and structure per element), ``error`` (None or one
        sentence), ``seconds``.
    """
    t0 = time.perf_counter()
    fr = dict(task["fractions"])
    out: dict[str, Any] = {"formula": task["formula"], "prototype": None, "structure": None,
                           "energy_per_atom": None, "formation_energy": None, "tried": [],
                           "elements": {}, "error": None}  # fmt: skip
    try:
        settings = {
            "potential": task["potential"],
            "potential_version": potential_version(task["potential"]),
            "relax": bool(task["relax"]),
            "fmax": float(task["fmax"]),
            "steps": int(task["steps"]),
            "max_atoms": int(task["max_atoms"]),
            "threads": task.get("threads", 1),  # not part of any cache key
        }
        cache = ResultCache(task.get("cache_dir"))
        known = _known_elements(settings, cache)
        refused = sorted(el for el in fr if known is not None and el not in known)
        if refused:
            raise _Failure(
                f"the {task['potential']} potential was not trained on {', '.join(refused)}"
            )
        cands, skipped = candidate_structures(
            fr,
            prototypes=task["prototypes"],
            max_atoms=settings["max_atoms"],
            max_candidates=int(task.get("max_candidates", 4)),
        )
        out["tried"] = [
            {"prototype": n, "atoms": None, "energy_per_atom": None, "error": why}
            for n, why in skipped
        ]
        if not cands:
            raise _Failure(
                f"no prototype fits {task['formula']} within {settings['max_atoms']} atoms ("
                + "; ".join(f"{n}: {why}" for n, why in skipped)
                + ")"
            )
        what = task["key"]
        rows = [_relax_cached("compound", what, n, s, settings, cache) for n, s in cands]
        out["tried"] = [{k: v for k, v in r.items() if k != "structure"} for r in rows] + out[
            "tried"
        ]
        ok = [r for r in rows if r["error"] is None]
        if not ok:
            raise _Failure("every relaxation failed: " + rows[0]["error"])
        best = min(ok, key=lambda r: r["energy_per_atom"])
        refs = {el: _element_energy(el, settings, cache) for el in fr}
        # One rule (corrections.formation_energy): the compound and the elements moved from
        # the scheme the potential's energies are in to the reference hull's own scheme, so
        # the two sides are comparable and no correction is counted twice.
        scheme = check_scheme(task.get("corrections", "mp2020"))
        own = energy_scheme(task["potential"])
        out.update(
            prototype=best["prototype"],
            structure=best["structure"],
            energy_per_atom=best["energy_per_atom"],
            corrected_energy_per_atom=corrected_energy(
                fr, best["energy_per_atom"], scheme, energy_scheme=own
            ),
            formation_energy=formation_energy(
                fr,
                best["energy_per_atom"],
                {el: r["energy_per_atom"] for el, r in refs.items()},
                scheme,
                energy_scheme=own,
            ),
            corrections=scheme,
            converged=best["converged"],
            elements=refs,
            potential_version=settings["potential_version"],
        )
    except _Failure as exc:
        out["error"] = str(exc)
    except Exception as exc:  # noqa: BLE001 - the batch goes on; the row says what happened
        out["error"] = f"{type(exc).__name__}: {exc}"
    out["seconds"] = time.perf_counter() - t0
    return out


class _Failure(Exception):
    """A failure with a message meant for the table as is."""
