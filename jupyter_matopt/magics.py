"""``%matopt``: thin IPython magics over the backend and the widgets.

``%load_ext jupyter_matopt`` registers them; ``%matopt help`` lists the subcommands and
``%matopt help <subcommand>`` (or ``%matopt <subcommand> -h``) explains one. The state
(dataset, model, space, campaign) lives in :func:`jupyter_matopt.session`, shared
with the Python API. A user error prints one line (``UsageError``), not a traceback, and
leaves the session as it was.
"""

from __future__ import annotations

import argparse
import shlex
import time
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class, no_var_expand

from ._session import SessionError, session

__all__ = ["MatoptMagics", "load_ipython_extension", "build_parser"]


from ._magic_args import (
    _ArgumentError,
    _bounds,
    _conditions,
    _fixed,
    _HelpShown,
    _one_line,
    _subparsers,
    build_parser,
)
from ._magic_helpers import (
    _OPTIMADE_ONLY,
    _backend_params,
    _load_optimade,
    _rows_inside,
    _show_figure,
    _sliders_space,
    _suggest_with_progress,
    _suggestion_table,
)


@magics_class
class MatoptMagics(Magics):
    """Thin wrappers: parse the line, call the backend, return a widget or a DataFrame."""

    # never expand `{...}` or `$name` in the line: arguments such as file names come from
    # outside (the Campaigns panel inserts them) and expansion would run them as Python
    @no_var_expand
    @line_magic
    def matopt(self, line: str) -> Any:
        """Machine-learning guided composition optimization; ``%matopt help`` for commands."""
        parser = build_parser()
        try:
            tokens = shlex.split(line)
        except ValueError as exc:  # unbalanced quotes
            raise UsageError(f"cannot read the command line {line!r}: {exc}") from None
        commands = _subparsers(parser)
        if tokens and not tokens[0].startswith("-") and tokens[0] not in commands:
            raise UsageError(f"unknown subcommand {tokens[0]!r}; use one of "
                             f"{', '.join(commands)} (`%matopt help` explains them)")
        try:
            args = parser.parse_args(tokens)
        except _HelpShown:
            return None
        except _ArgumentError as exc:
            raise UsageError(str(exc) or "invalid arguments; see %matopt help") from None
        if args.cmd is None:
            parser.print_help()
            return None
        handler = getattr(self, f"_do_{args.cmd}")
        try:
            return handler(args)
        except UsageError:
            raise
        except (SessionError, ValueError, FileNotFoundError, ImportError) as exc:
            # user errors from the backend are ValueError subclasses with one clear sentence
            raise UsageError(_one_line(exc)) from None
        except Exception as exc:
            import traitlets

            if isinstance(exc, traitlets.TraitError):  # a widget refused a value
                raise UsageError(_one_line(exc)) from None
            raise

    def _do_help(self, args: argparse.Namespace) -> None:
        parser = build_parser()
        if args.topic is None:
            parser.print_help()
            return
        commands = _subparsers(parser)
        if args.topic not in commands:
            raise UsageError(f"no help on {args.topic!r}: it is not a subcommand; use one of "
                             f"{', '.join(commands)}")
        commands[args.topic].print_help()

    # ---------------------------------------------------------------- data
    def _do_list(self, args: argparse.Namespace) -> Any:
        from .data import list_datasets

        return list_datasets()

    def _do_load(self, args: argparse.Namespace) -> Any:
        from .data import Dataset, load_dataset

        src = args.source
        only_optimade = [flag for k, flag in _OPTIMADE_ONLY.items() if getattr(args, k)]
        if src.lower().startswith("optimade:"):
            ds = _load_optimade(src.split(":", 1)[1], args)
        elif only_optimade:
            raise UsageError(f"{', '.join(only_optimade)} apply to OPTIMADE sources only, e.g. "
                             f"`%matopt load optimade:oqmd --elements Bi Te`; got {src!r}")
        elif src.lower().endswith((".csv", ".tsv", ".txt")) or Path(src).is_file():
            if not Path(src).is_file():
                raise UsageError(f"no file {src!r}: give the path of a CSV file or a dataset "
                                 "name from `%matopt list`")
            kw: dict[str, Any] = {}
            if args.units is not None:
                kw["units"] = args.units
            ds = Dataset.from_csv(src, composition_col=args.composition_col, target=args.target,
                                  **kw)
        else:
            kw = {}
            if args.target:
                kw["target"] = args.target
            if args.data_dir:
                kw["data_dir"] = args.data_dir
            from .data.registry import resolve_name
            from .widgets.progress import tqdm_callback

            src = resolve_name(src)  # an unknown name fails here, before any bar is drawn
            # the loaders report no steps; the bar says what is being read, and for how long
            with tqdm_callback(desc=f"load {src}") as cb:
                cb(0, 1, "reading")
                ds = load_dataset(src, **kw)
                cb(1, 1, f"{len(ds):,} rows")
        if args.sample is not None:
            if args.sample < 1:
                raise UsageError(f"--sample must be a positive number of rows, got {args.sample}")
            if args.sample < len(ds):
                import numpy as np

                idx = np.sort(np.random.default_rng(0).choice(len(ds), args.sample,
                                                              replace=False))
                ds = ds.subset(idx)
        st = session()
        st.dataset, st.model, st.cv_report = ds, None, None
        return ds

    # --------------------------------------------------------------- model
    def _do_train(self, args: argparse.Namespace) -> Any:
        from .models import PropertyModel

        st = session()
        ds = st.require("dataset", "run `%matopt load <name>` first")
        kw: dict[str, Any] = {"seed": args.seed, "tune": args.tune}
        if args.n_ensemble is not None:
            kw["n_ensemble"] = args.n_ensemble
        backend = args.backend or args.estimator
        params = _backend_params(backend, args.n_estimators, args.pretrained)
        if params:
            kw["params"] = params
        from .widgets.progress import tqdm_callback

        t0 = time.perf_counter()
        model = PropertyModel(backend=backend, **kw)
        with tqdm_callback(desc=f"train on {len(ds):,} rows") as cb:
            model.fit(ds, callback=cb)
        st.model, st.cv_report = model, None
        print(f"Trained {backend} on {len(ds):,} rows of {ds.name} "
              f"({ds.target}{' / ' + ds.units if ds.units else ''}) "
              f"in {time.perf_counter() - t0:.1f} s.")
        selection = getattr(model.backend_, "selection", None)
        if selection:
            print(f"Picked {selection['choice']}: {selection['reason']}.")
        return model

    def _do_cv(self, args: argparse.Namespace) -> Any:
        from .models import PropertyModel
        from .widgets.progress import tqdm_callback

        st = session()
        ds = st.require("dataset", "run `%matopt load <name>` first")
        model = st.model if st.model is not None else PropertyModel()
        if args.compare:
            protocols = ["random", "group", "leave-element-out", "leave-cluster-out"]
            with tqdm_callback(desc="cross-validation") as cb:
                return model.compare_protocols(ds, protocols=protocols, n_splits=args.n_splits,
                                               callback=cb)
        protocol = args.protocol or ("matbench" if str(ds.name).startswith("matbench")
                                     else "group")
        with tqdm_callback(desc=f"{protocol} CV") as cb:
            report = model.cross_validate(ds, protocol=protocol, n_splits=args.n_splits,
                                          callback=cb)
        st.cv_report = report
        if not args.no_plot:
            _show_figure(report)
        return report

    def _model(self) -> Any:
        return session().require("model", "run `%matopt train` first")

    def _do_predict(self, args: argparse.Namespace) -> Any:
        import pandas as pd

        model = self._model()
        cond = _conditions(args.cond)
        conditions = pd.DataFrame([cond] * len(args.formulas)) if cond else None
        from ._format import PredictionTable

        mean, std, dom = model.predict(args.formulas, conditions=conditions, return_std=True,
                                       return_domain=True)
        # full precision in the columns; shown rounded to the std, with units
        frame = PredictionTable({"composition": args.formulas, "prediction": mean, "std": std,
                                 "in_domain": list(dom["in_domain"]),
                                 "reason": list(dom["reason"])})
        frame.attrs["units"] = getattr(model, "units_", "") or ""
        frame.attrs["target"] = getattr(model, "target_", "") or ""
        return frame

    def _do_explain(self, args: argparse.Namespace) -> Any:
        import pandas as pd

        model = self._model()
        cond = _conditions(args.cond)
        kw = {"conditions": pd.DataFrame([cond])} if cond else {}
        exp = model.explain(args.formula, **kw)
        series = {"element": exp.per_element, "property": exp.per_property,
                  "feature": exp.per_feature}[args.by]
        top = series.reindex(series.abs().sort_values(ascending=False).index)
        from ._format import ExplanationTable, format_sig

        units = getattr(model, "units_", "") or ""
        print(f"{args.formula}: prediction {format_sig(exp.prediction)} = base "
              f"{format_sig(exp.base_value)} + contributions by {args.by} (TreeSHAP)"
              f"{' in ' + units if units else ''}")
        table = ExplanationTable(top.head(30).to_frame("contribution"))
        table.attrs["units"] = units
        return table

    # --------------------------------------------------------------- space
    def _do_space(self, args: argparse.Namespace) -> Any:
        from .core import CompositionSpace

        space = CompositionSpace(_bounds(args.components), step=args.step,
                                 max_components=args.max_components)
        st = session()
        st.space, st.campaign, st.suggestions = space, None, None
        msg = f"{space}"
        if space.step is not None:
            msg += f": {space.grid_size():,} grid compositions"
        print(msg)
        return space

    def _space_for(self, components: list[str], step: float | None) -> Any:
        from .core import CompositionSpace

        st = session()
        if components:
            return CompositionSpace(_bounds(components), step=step)
        if st.space is not None:
            return st.space
        raise UsageError("name the elements (e.g. `%matopt sliders Fe Cr Ni`) or define "
                         "`%matopt space ...` first")

    def _do_sliders(self, args: argparse.Namespace) -> Any:
        from .widgets import CompositionSliders

        st = session()
        space = self._space_for(args.components, args.step)
        kw: dict[str, Any] = {"step": args.step} if args.step is not None else {}
        if getattr(args, "stability", False):
            kw["stability"] = True
        w = CompositionSliders(space, model=st.model, **kw)
        st.sliders = w
        return w

    def _do_ternary(self, args: argparse.Namespace) -> Any:
        from .widgets import TernaryMap

        st = session()
        fixed = _fixed(args.fixed)
        model = self._model()
        return TernaryMap(model, elements=tuple(args.elements), fixed=fixed,
                          resolution=args.resolution, sliders=st.sliders)

    def _do_structure(self, args: argparse.Namespace) -> Any:
        from .widgets.structure import StructureViewer

        st = session()
        sliders = None if args.no_link else st.sliders
        fractions = dict(sliders.fractions) if sliders is not None else None
        viewer = StructureViewer(args.source, fractions,
                                 mode="ordered" if args.ordered else "disordered")
        if sliders is not None:
            viewer.link_sliders(sliders)
        return viewer

    def _do_stability(self, args: argparse.Namespace) -> Any:
        from .stability import stability

        res = stability(args.formula, potential=args.potential,
                        prototypes=args.prototypes or "auto", reference=args.reference,
                        data_dir=args.data_dir)  # fmt: skip
        print(res)
        if res.error is None:
            dft = ("not on record" if res.dft_e_above_hull is None
                   else f"{res.dft_e_above_hull:.3f} eV/atom")  # fmt: skip
            print(f"  E_hull {res.e_above_hull:+.3f} eV/atom (DFT: {dft}); formation energy "
                  f"{res.formation_energy:.3f} eV/atom; hull there "
                  f"{res.reference.get('hull_energy', float('nan')):.3f} eV/atom")
            print("  tried: " + ", ".join(
                f"{r.prototype} {r.energy_per_atom:.3f} eV/atom" if r.error is None
                else f"{r.prototype} ({r.error})" for r in res.tried.itertuples()))
        for w in res.warnings:
            print(f"  warning: {w}")
        if not args.no_plot and res.error is None:
            import matplotlib.pyplot as plt
            from IPython.display import display

            from .widgets.stability_plot import stability_plot

            with plt.ioff():
                fig = stability_plot(res)
            display(fig)
            plt.close(fig)
        return None

    # ------------------------------------------------------------ campaign
    def _campaign_for(self, args: argparse.Namespace) -> tuple[Any, bool]:
        """The campaign ``suggest`` works on and whether it is new (not yet in the session)."""
        from .optimize import Campaign

        st = session()
        current = st.campaign
        prior = None
        model = st.model
        if model is not None and not getattr(args, "no_model", False) and \
                getattr(model, "task_", "regression") == "regression":
            if getattr(model, "conditions_", None):
                # the campaign searches compositions only; a model needing conditions such as
                # temperature cannot rank them without a value for each
                print(f"Not using the trained model as prior: it needs {model.conditions_}, "
                      "which `%matopt suggest` does not set.")
            else:
                prior = model
        if args.path is not None:
            path = Path(args.path)
            cur_path = getattr(current, "path", None)
            if current is not None and cur_path is not None and \
                    Path(cur_path).resolve() == path.resolve():
                return current, False
            if path.exists():
                return Campaign.load(path, prior=prior), True
        elif current is not None:
            return current, False
        space = st.space
        if space is None and st.sliders is not None:
            space = _sliders_space(st.sliders)
            print(f"Searching the sliders' space {space} (set another with `%matopt space`).")
        if space is None:
            st.require("space", "define one with `%matopt space Fe=0.5:0.9 Cr Ni --step 0.01` "
                       "(or open a campaign file with `%matopt campaign <file>`)")
        # acquisition None: the Campaign's own default (one source of truth)
        camp = Campaign(space, objective=args.objective or "max",
                        acquisition=args.acquisition,
                        seed=0 if args.seed is None else args.seed, path=args.path,
                        prior=prior)
        ds = st.dataset
        if ds is not None and not args.no_data:
            comps, ys = _rows_inside(ds, space)
            if comps:
                camp.tell(comps, ys)
                print(f"Seeded the campaign with {len(comps)} measured composition(s) from "
                      f"{ds.name} inside the space's bounds.")
        return camp, True

    @staticmethod
    def _check_settings(camp: Any, args: argparse.Namespace) -> None:
        asked = {"acquisition": args.acquisition, "objective": args.objective,
                 "seed": args.seed}
        have = {"acquisition": camp.acquisition, "objective": camp.directions[0],
                "seed": camp.seed}
        for key, value in asked.items():
            if value is not None and value != have[key]:
                raise UsageError(
                    f"the current campaign has {key} {have[key]!r}, not {value!r}; start a new "
                    "one with `%matopt space ...` or `%matopt suggest --path <new file>`")

    def _do_suggest(self, args: argparse.Namespace) -> Any:
        st = session()
        camp, new = self._campaign_for(args)
        if not new:
            self._check_settings(camp, args)
        frame = _suggest_with_progress(camp, args.n)
        frame = _suggestion_table(camp, frame, st)
        st.campaign, st.suggestions = camp, frame
        if new and camp.space is not None:
            st.space = camp.space
        return frame

    def _do_tell(self, args: argparse.Namespace) -> Any:
        st = session()
        camp = st.require("campaign", "run `%matopt suggest` (or `%matopt campaign <file>`) first")
        comps: list[Any] = []
        values: list[float] = []
        for item in args.measurements:
            what, sep, value = item.rpartition("=")
            try:
                values.append(float(value))
            except ValueError:
                sep = ""
            if not sep or not what:
                raise UsageError(f"cannot read {item!r}: use ROW=value or Formula=value, "
                                 "e.g. 0=1234 or Fe0.7Cr0.3=1234")
            if what.isdigit():
                rows = st.suggestions
                if rows is None or not 0 <= int(what) < len(rows):
                    have = f"rows 0-{len(rows) - 1}" if rows is not None else "none yet"
                    raise UsageError(f"cannot read {item!r}: row {what} is not in the last "
                                     f"suggestions ({have})")
                comps.append(rows.compositions[int(what)])
            else:
                comps.append(what)
        camp.tell(comps, values)
        where = f" and in {camp.path}" if camp.path is not None else ""
        print(f"Recorded {len(comps)} measurement(s) in the campaign{where}; it has "
              f"{camp.n_observations} in all.")
        return None

    def _do_campaign(self, args: argparse.Namespace) -> Any:
        from .optimize import Campaign
        from .widgets import CampaignPanel

        st = session()
        if args.path:
            if not Path(args.path).exists():
                raise UsageError(f"no campaign file at {args.path!r}; create one with "
                                 f"`%matopt suggest --path {args.path}`")
            camp = Campaign.load(args.path)
        else:
            camp = st.require("campaign",
                              "run `%matopt suggest` (or `%matopt campaign <file>`) first")
        n = len(st.suggestions) if st.suggestions is not None and camp is st.campaign else 5
        panel = CampaignPanel(camp, n_suggest=max(1, n))
        if camp is not st.campaign:
            st.campaign, st.suggestions = camp, None
            if camp.space is not None:
                st.space = camp.space
        return panel

    def _do_screen(self, args: argparse.Namespace) -> Any:
        from .screen import screen

        st = session()
        space = st.require("space", "define it with `%matopt space ... --step 0.01` first")
        model = self._model()
        filters = {"in_domain": True} if args.in_domain else None
        from .widgets.progress import tqdm_callback

        # the one tqdm adapter of the magics (as load, train, cv and suggest)
        with tqdm_callback(desc="screen", unit="comp", unit_scale=True) as cb:
            result = screen(space, model, top_k=args.top_k, objective=args.objective,
                            filters=filters, n_samples=args.n_samples, callback=cb)
        st.screen_result = result
        if args.frame:
            return result
        from .widgets import ScreenTable

        # Linked to the last sliders when they cover the screened elements: clicking a row
        # moves them (and the structure view that follows them) to that composition.
        sliders = st.sliders
        elements = set(getattr(space, "elements", ()) or ())
        if sliders is not None and not elements <= set(getattr(sliders, "elements", ()) or ()):
            sliders = None
        return ScreenTable(result, sliders)

    def _do_generate(self, args: argparse.Namespace) -> Any:
        from .widgets.latent import generate_view

        return generate_view(session(), n=args.n, target=args.target, kind=args.kind,
                             n_samples=args.n_samples, diversity=args.diversity,
                             seed=args.seed, refit=args.refit, show_map=not args.no_map,
                             frame=args.frame)

    def _do_status(self, args: argparse.Namespace) -> Any:
        print(session().summary())
        return None


# `%matopt load` options that only mean something for an optimade: source
def load_ipython_extension(ipython: Any) -> None:
    """Register ``%matopt`` (called by ``%load_ext jupyter_matopt``)."""
    ipython.register_magics(MatoptMagics)
