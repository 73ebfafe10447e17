"""Universal interatomic potentials whose weights ship in their wheels (extra ``mlip``).

* ``"sevennet"`` (default): SevenNet 0.13, model ``7net-l3i5`` (Matbench Discovery F1 0.76),
  weights inside the ``sevenn`` wheel, so it runs offline.
* ``"chgnet"``: CHGNet 0.4.2 (its 0.3.0 weights ship in the wheel), smaller and faster.

Torch threads: a relaxation of a 2-20 atom cell gains little from several threads and several
relaxations run side by side in processes, so :func:`load_potential` pins **one torch thread
per process** by default (``threads=``). Nothing here is imported by ``import jupyter_matopt``.
"""

from __future__ import annotations

from typing import Any

from .errors import StabilityError

__all__ = ["ENERGY_SCHEMES", "POTENTIALS", "energy_scheme", "load_potential", "potential_version"]

#: Potential names accepted by ``potential=``.
POTENTIALS = ("sevennet", "chgnet")
#: The correction scheme each potential's energies come in, measured here on rocksalt MgO,
#: CaO and NiO against elemental references from the same potential (MP's corrected DFT
#: formation energies in CritExam__Ef: MgO -3.07, CaO -3.32 eV/atom):
#:
#: * CHGNet 0.3.0 was trained on MPtrj's MP2020-*corrected* energies (its authors ask for
#:   fine-tuning data to be MP2020-corrected to match): its formation energies with no
#:   correction are already MgO -3.11, CaO -3.35; adding MP2020 again gave -3.45, -3.69, and
#:   put oxides 0.3-1.5 eV/atom below the hull in the benchmark.
#: * SevenNet 7net-l3i5 predicts *raw* GGA/GGA+U energies: MgO -2.70 uncorrected (MP's raw
#:   GGA value), -3.04 with MP2020; NiO +0.42 uncorrected (GGA+U against GGA Ni needs the
#:   U correction), -1.01 with the pre-2020 corrections.
ENERGY_SCHEMES = {"sevennet": "none", "chgnet": "mp2020"}

_MLIP_HINT = 'pip install "jupyter_matopt[mlip]"'
_LOADED: dict[str, Any] = {}


def _check_name(name: str) -> str:
    key = str(name).lower().replace("-", "").replace("_", "")
    key = {"7net": "sevennet", "sevenn": "sevennet", "7netl3i5": "sevennet"}.get(key, key)
    if key not in POTENTIALS:
        raise StabilityError(f"unknown potential {name!r}; choose one of {', '.join(POTENTIALS)}")
    return key


def _missing(name: str, exc: Exception) -> StabilityError:
    pkg = "sevenn==0.13.0" if name == "sevennet" else "chgnet==0.4.2"
    return StabilityError(
        f"the {name!r} potential needs the optional extra 'mlip' ({_MLIP_HINT}, which installs "
        f"torch, {pkg} and ase); import failed: {exc}"
    )


def potential_version(name: str = "sevennet") -> str:
    """A string naming the potential, its package version and model, used as a cache key.

    Raises:
        StabilityError: unknown name, or the extra ``mlip`` is not installed.
    """
    key = _check_name(name)
    from importlib.metadata import PackageNotFoundError, version

    pkg = "sevenn" if key == "sevennet" else "chgnet"
    try:
        v = version(pkg)
    except PackageNotFoundError as exc:
        raise _missing(key, exc) from None
    return f"sevenn-{v}/7net-l3i5" if key == "sevennet" else f"chgnet-{v}/0.3.0"


def energy_scheme(name: str = "sevennet") -> str:
    """The correction scheme ``name``'s energies are in (see :data:`ENERGY_SCHEMES`)."""
    return ENERGY_SCHEMES[_check_name(name)]


def load_potential(name: str = "sevennet", *, threads: int | None = 1) -> Any:
    """An ASE calculator for ``name``, loaded once per process (CPU).

    Args:
        name: ``"sevennet"`` or ``"chgnet"``.
        threads: Torch intra-op threads for this process (``None`` leaves torch's default).
            One by default: several small relaxations in parallel processes use a small
            machine's cores better than one relaxation with many threads.

    Raises:
        StabilityError: unknown name, or the extra ``mlip`` is missing (named in the message).
    """
    key = _check_name(name)
    if key in _LOADED:
        return _LOADED[key]
    try:
        import torch
    except ImportError as exc:
        raise _missing(key, exc) from None
    if threads is not None:
        torch.set_num_threads(int(threads))
    import warnings

    with warnings.catch_warnings():
        # Both packages warn about optional accelerators (cuEquivariance, flash) absent on CPU.
        warnings.simplefilter("ignore")
        try:
            if key == "sevennet":
                from sevenn.calculator import SevenNetCalculator

                calc = SevenNetCalculator(model="7net-l3i5", device="cpu")
            else:
                from chgnet.model import CHGNet
                from chgnet.model.dynamics import CHGNetCalculator

                calc = CHGNetCalculator(CHGNet.load(verbose=False), use_device="cpu")
        except ImportError as exc:
            raise _missing(key, exc) from None
    _LOADED[key] = calc
    return calc


def supported_elements(name: str = "sevennet") -> set[str] | None:
    """Elements the loaded potential knows, or None when it does not say."""
    calc = load_potential(name)
    tm = getattr(calc, "type_map", None)
    if isinstance(tm, dict) and tm:
        from ase.data import chemical_symbols

        return {chemical_symbols[z] if isinstance(z, int) else str(z) for z in tm}
    return None
