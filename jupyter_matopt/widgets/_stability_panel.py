"""The stability estimate of the sliders' current composition, computed on request.

:class:`StabilityPanel` is mixed into :class:`~jupyter_matopt.widgets.sliders.CompositionSliders`:
it adds the synced ``stability_status`` trait (what the view's "Stability" button and status
line show), the ``stability()`` method, and a background worker that runs
:func:`jupyter_matopt.stability` (relaxations take seconds to minutes) so the kernel keeps
answering slider drags meanwhile. A result belongs to one composition: it is marked stale as
soon as the sliders move away from it, and fresh again if they come back. Relaxations go
through ``mo.stability``'s on-disk cache, so asking again for a composition is instant.

The status is plain text (the view sets ``textContent``; no HTML is built from it).
"""

from __future__ import annotations

import asyncio
import inspect
import math
import threading
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import traitlets

__all__ = ["StabilityPanel", "stability_label", "stability_options"]

#: Options of ``mo.stability`` the sliders do not take: the composition is theirs.
_NOT_OPTIONS = {"compositions"}


def _stability_function() -> Any:
    # imported on first use: the stability package pulls in pandas and pymatgen's tables
    from ..stability import stability

    return stability


def stability_options(value: Any) -> dict[str, Any] | None:
    """The ``mo.stability`` options the sliders' ``stability=`` argument asks for.

    Args:
        value: ``False``/``None`` (no Stability button), ``True`` (the button, with
            ``mo.stability``'s defaults: SevenNet, prototypes picked by stoichiometry, the
            Materials Project reference hull, the on-disk cache) or a mapping of
            ``mo.stability`` keyword options, e.g. ``{"potential": "chgnet", "steps": 50}``.

    Returns:
        None (off) or a dict of options.

    Raises:
        StabilityError: anything else, or a key that is not an option of ``mo.stability``
            (the message lists the accepted ones).
    """
    from ..stability import StabilityError

    if value is None or value is False:
        return None
    if value is True:
        return {}
    if not isinstance(value, Mapping):
        raise StabilityError(
            "stability must be True, False or a dict of mo.stability options "
            f"(e.g. {{'potential': 'chgnet'}}), got {value!r}"
        )
    params = inspect.signature(_stability_function()).parameters
    accepted = sorted(n for n, p in params.items()
                      if p.kind is p.KEYWORD_ONLY and n not in _NOT_OPTIONS)  # fmt: skip
    bad = sorted(str(k) for k in value if k not in accepted)
    if bad:
        raise StabilityError(
            f"stability options {bad} are not options of mo.stability; accepted: {accepted}"
        )
    return dict(value)


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


def _potential_name(version: str) -> str:
    low = version.lower()
    if low.startswith("sevenn"):
        return "SevenNet"
    if low.startswith("chgnet"):
        return "CHGNet"
    return version or "potential"


def stability_label(result: Any) -> str:
    """One line saying what a :class:`~jupyter_matopt.stability.StabilityResult` found.

    E.g. ``e_above_hull = 0.031 eV/atom (SevenNet, 3 prototypes; reference: Materials
    Project, 12 compounds of Al-Ni; DFT on record 0.000)``, or the reason there is none.
    """
    if result.error:
        return _one_line(f"no stability estimate for {result.composition}: {result.error}")
    tried = result.tried
    if "energy_per_atom" in getattr(tried, "columns", ()):
        n = int(tried["energy_per_atom"].notna().sum())
    else:
        n = len(tried)
    how = f"{_potential_name(result.potential)}, {n} prototype{'s' if n != 1 else ''}"
    if math.isnan(result.e_above_hull):
        text = (f"formation energy = {result.formation_energy:.3f} eV/atom ({how}; "
                "no reference hull)")  # fmt: skip
    else:
        ref = result.reference or {}
        system = "-".join(sorted(_elements(result.composition)))
        text = (
            f"e_above_hull = {result.e_above_hull:.3f} eV/atom "
            f"({'stable' if result.stable else 'unstable'} at 0.05; {how}; reference: "
            f"{ref.get('name', '?')}, {ref.get('n_compounds', '?')} compounds of {system}"
        )
        if result.dft_e_above_hull is not None:
            text += f"; DFT on record {result.dft_e_above_hull:.3f}"
        text += ")"
    if result.warnings:
        text += f" — {len(result.warnings)} warning{'s' if len(result.warnings) != 1 else ''}"
    return _one_line(text)


def _elements(formula: str) -> list[str]:
    from ..core import parse_composition

    try:
        return list(parse_composition(formula))
    except ValueError:
        return []


def _key(composition: Mapping[str, float]) -> tuple[tuple[str, float], ...]:
    """What identifies a composition: its non-zero fractions, rounded off float noise."""
    return tuple(sorted((e, round(float(v), 9)) for e, v in composition.items() if v > 1e-12))


class StabilityPanel(traitlets.HasTraits):
    """Mixin: the on-request stability estimate of the current composition.

    The host widget must have a ``composition`` property (non-zero fractions) and a
    ``fractions`` trait; the panel observes it to mark a result stale.

    ``stability_status`` (synced) holds ``enabled`` (show the button), ``state`` (``idle``,
    ``computing``, ``done``, ``stale`` or ``error``), ``label`` (one line of plain text),
    ``formula`` (the composition the label is about), ``e_above_hull`` (eV/atom or None) and
    ``detail`` (warnings and prototypes tried, for a tooltip).
    """

    stability_status = traitlets.Dict().tag(sync=True)

    def __init__(self, *args: Any, stability: bool | Mapping[str, Any] | None = False,
                 **kwargs: Any) -> None:  # fmt: skip
        self._stab_options = stability_options(stability)
        self._stab_lock = threading.RLock()
        self._stab_pool: ThreadPoolExecutor | None = None
        self._stab_submitted = 0  # requests so far; only the latest one's outcome is shown
        self._stab_pending: tuple[int, str, tuple] | None = None  # (request, formula, key)
        self._stab_outcome: dict[str, Any] | None = None  # the latest finished request's
        self._stab_result: Any = None
        super().__init__(*args, **kwargs)
        self._stab_show()

    # ------------------------------------------------------------------ public API
    @property
    def stability_result(self) -> Any:
        """The latest :class:`~jupyter_matopt.stability.StabilityResult` (None before any).

        It may be stale: its ``composition`` says which composition it is for.
        """
        return self._stab_result

    def stability(self, *, wait: bool = True) -> Any:
        """Estimate the stability of the current composition with ``mo.stability``.

        Uses the options given as ``stability=`` to the sliders (``mo.stability``'s defaults
        otherwise), its on-disk cache included. The status line shows ``computing…`` and then
        the estimate or one sentence saying why there is none. Requests run one after another
        in a background thread, so the sliders stay responsive while one runs.

        Args:
            wait: Block until done and return the result (else return a
                ``concurrent.futures.Future`` of it at once: what the Stability button does).

        Returns:
            A :class:`~jupyter_matopt.stability.StabilityResult` (its ``error`` says why a
            composition could not be estimated: no prototype fits, an element the potential
            was not trained on...), or a Future of it.

        Raises:
            StabilityError: a bad option or a missing extra (``mlip``) or reference data; the
                message is also shown in the status line.
        """
        composition = dict(self.composition)
        options = dict(self._stab_options or {})
        with self._stab_lock:
            self._stab_submitted += 1
            request = self._stab_submitted
            formula = str(getattr(self, "formula", "")) or str(composition)
            self._stab_pending = (request, formula, _key(composition))
            if self._stab_pool is None:
                # one worker: relaxations run one at a time (2 cores are plenty busy with one)
                self._stab_pool = ThreadPoolExecutor(1, thread_name_prefix="matopt-stability")
            pool = self._stab_pool
        self._stab_show()
        loop = None
        if not wait:
            try:
                loop = asyncio.get_running_loop()  # the kernel's: traits are set on its thread
            except RuntimeError:
                loop = None
        future = pool.submit(self._stab_work, request, composition, options, loop)
        return future.result() if wait else future

    def close(self) -> None:
        """Close the widget; a running estimate finishes (into the cache) unseen."""
        # getattr: a constructor that refused its arguments still gets closed by __del__
        pool = getattr(self, "_stab_pool", None)
        self._stab_pool = None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        super().close()  # type: ignore[misc]

    # ------------------------------------------------------------------ internals
    def _stab_work(self, request: int, composition: dict[str, float], options: dict[str, Any],
                   loop: asyncio.AbstractEventLoop | None) -> Any:  # fmt: skip
        """Run in the worker thread: compute, then show the outcome (on the loop if any)."""
        from ..stability import StabilityError

        key = _key(composition)
        result: Any = None
        failure: BaseException | None = None
        try:
            result = _stability_function()(composition, **options)
            outcome = {"key": key, "formula": result.composition,
                       "state": "error" if result.error else "done",
                       "label": stability_label(result),
                       "e_above_hull": (None if math.isnan(result.e_above_hull)
                                        else float(result.e_above_hull)),
                       "detail": _detail(result)}  # fmt: skip
        except StabilityError as exc:
            failure = exc
            outcome = {"key": key, "state": "error", "label": _one_line(f"stability: {exc}")}
        except Exception as exc:  # noqa: BLE001 - shown in the status line, then re-raised
            failure = exc
            outcome = {"key": key, "state": "error",
                       "label": _one_line(f"stability failed: {type(exc).__name__}: {exc}")}
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._stab_finish, request, outcome, result)
        else:
            self._stab_finish(request, outcome, result)
        if failure is not None:
            raise failure
        return result

    def _stab_finish(self, request: int, outcome: dict[str, Any], result: Any) -> None:
        with self._stab_lock:
            if request != self._stab_submitted:
                return  # a newer request is queued: its outcome is the one to show
            self._stab_pending = None
            self._stab_outcome = outcome
            if result is not None:
                self._stab_result = result
        self._stab_show()

    @traitlets.observe("fractions")
    def _stab_on_fractions(self, _change: dict[str, Any]) -> None:
        if self._stab_outcome is not None or self._stab_pending is not None:
            self._stab_show()

    def _stab_show(self) -> None:
        """Put the status of the current composition in ``stability_status``."""
        with self._stab_lock:
            status: dict[str, Any] = {"enabled": self._stab_options is not None,
                                      "state": "idle", "label": "", "formula": "",
                                      "e_above_hull": None, "detail": ""}  # fmt: skip
            try:
                current = _key(self.composition)  # type: ignore[attr-defined]
            except Exception:  # noqa: BLE001 - during the host's construction
                current = ()
            done = self._stab_outcome
            if self._stab_pending is not None:
                _, formula, key = self._stab_pending
                moved = "" if key == current else " (the sliders have moved since)"
                status.update(state="computing", formula=formula,
                              label=f"computing… stability of {formula}{moved}")  # fmt: skip
            elif done is not None:
                status.update({k: v for k, v in done.items() if k != "key"})
                if done["key"] != current:
                    status["state"] = "stale"
                    status["label"] = f"stale (for {done.get('formula') or 'another composition'}"
                    status["label"] += f", the sliders have moved): {done['label']}"
            if status != self.stability_status:
                self.stability_status = status


def _detail(result: Any) -> str:
    parts = list(result.warnings)
    tried = result.tried
    if "prototype" in getattr(tried, "columns", ()):
        rows = []
        for r in tried.to_dict("records"):
            e, err = r.get("energy_per_atom"), r.get("error")
            ok = e is not None and not (isinstance(e, float) and math.isnan(e))
            rows.append(f"{r['prototype']} {e:.3f} eV/atom" if ok else f"{r['prototype']} ({err})")
        if rows:
            parts.append("tried: " + ", ".join(rows))
    return _one_line("; ".join(parts))
