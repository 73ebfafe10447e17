"""``%matopt``: thin IPython magics over the backend and the widgets.

``%load_ext jupyter_matopt`` registers them; ``%matopt help`` lists the subcommands. The
state (dataset, model, space, campaign) lives in :func:`jupyter_matopt.session.session`,
shared with the Python API. A user error prints one line (``UsageError``), not a traceback.
"""

from __future__ import annotations

import argparse
import shlex
import time
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class

from .session import SessionError, session

__all__ = ["MatoptMagics", "load_ipython_extension", "build_parser"]


class _ArgumentError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting the kernel."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _ArgumentError(f"{self.prog}: {message}")

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        if message:
            print(message)
        raise _ArgumentError("") if status else _HelpShown()


class _HelpShown(Exception):
    pass


def _bounds(items: list[str]) -> dict[str, Any]:
    """``Fe=0.5:0.9 Mo=0.02 Cr`` -> {"Fe": (0.5, 0.9), "Mo": 0.02, "Cr": None}."""
    out: dict[str, Any] = {}
    for item in items:
        name, sep, rng = item.partition("=")
        if not sep:
            out[name] = None
            continue
        try:
            if ":" in rng:
                lo, hi = rng.split(":", 1)
                out[name] = (float(lo or 0), float(hi or 1))
            else:
                out[name] = float(rng)
        except ValueError:
            raise UsageError(
                f"cannot read bounds {item!r}: use El, El=low:high or El=fixed (e.g. Fe=0.5:0.9)"
            ) from None
    return out


def build_parser() -> argparse.ArgumentParser:
    """The ``%matopt`` argument parser; its ``help=`` strings are the documentation."""
    p = _Parser(prog="%matopt", description="Machine-learning guided composition optimization.")
    sub = p.add_subparsers(dest="cmd", metavar="SUBCOMMAND")

    s = sub.add_parser("load", help="load a dataset by name (see `list`) or a CSV path")
    s.add_argument("source", help="dataset name such as ricci_transport, or a CSV file")
    s.add_argument("--target", help="target column (or a dataset's named target)")
    s.add_argument("--data-dir", help="folder holding local copies of dataset files")
    s.add_argument("--composition-col", help="composition column of a CSV (default: detected)")
    s.add_argument("--units", default=None, help="units of the target of a CSV")
    s.add_argument("--sample", type=int, default=None,
                   help="keep a random subset of this many rows (fast exploration)")

    sub.add_parser("list", help="list the built-in datasets")

    s = sub.add_parser("train", help="fit the property model on the loaded dataset")
    s.add_argument("--estimator", default="xgboost", choices=["xgboost", "rf"],
                   help="model family (default xgboost)")
    s.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    s.add_argument("--tune", action="store_true", help="bounded hyperparameter search (slower)")

    s = sub.add_parser("cv", help="cross-validate the model on the loaded dataset")
    s.add_argument("--protocol", default=None,
                   help="matbench (official folds), random, group, leave-element-out, "
                        "leave-cluster-out (default: matbench for matbench data, else group)")
    s.add_argument("--compare", action="store_true",
                   help="report random CV beside the out-of-distribution protocols")
    s.add_argument("--no-plot", action="store_true", help="do not draw the parity plot")

    s = sub.add_parser("predict", help="predict compositions with uncertainty and domain flag")
    s.add_argument("formulas", nargs="+", help="formulas, e.g. Fe0.7Cr0.2Ni0.1 Bi2Te3")
    s.add_argument("--cond", nargs="*", default=[],
                   help="condition values, e.g. temperature=300")

    s = sub.add_parser("explain", help="per-element and per-property contributions (TreeSHAP)")
    s.add_argument("formula", help="a formula, e.g. Fe0.7Cr0.2Ni0.1")
    s.add_argument("--cond", nargs="*", default=[], help="condition values, e.g. temperature=300")
    s.add_argument("--by", default="element", choices=["element", "property", "feature"],
                   help="aggregate contributions by element (default), property or feature")

    s = sub.add_parser("space", help="define the composition space: El=low:high, El=fixed, El")
    s.add_argument("components", nargs="+", help="e.g. Fe=0.5:0.9 Cr=0.1:0.3 Ni Mo=0.02")
    s.add_argument("--step", type=float, default=None, help="grid step, e.g. 0.01")
    s.add_argument("--max-components", type=int, default=None,
                   help="largest number of non-zero components")

    s = sub.add_parser("sliders", help="coupled composition sliders with live prediction")
    s.add_argument("components", nargs="*",
                   help="elements or El=low:high bounds (default: the current space)")
    s.add_argument("--step", type=float, default=None, help="slider step, e.g. 0.005")

    s = sub.add_parser("ternary", help="predicted property over a ternary A-B-C")
    s.add_argument("elements", nargs=3, help="three elements, e.g. Bi Sb Te")
    s.add_argument("--fixed", nargs="*", default=[], help="fixed other components, e.g. Se=0.05")
    s.add_argument("--resolution", type=int, default=60, help="points per edge (default 60)")

    s = sub.add_parser("structure", help="crystal structure decorated with the slider composition")
    s.add_argument("source", help="a CIF file, a prototype (fcc, bcc, perovskite, ...) or a formula")
    s.add_argument("--ordered", action="store_true",
                   help="show an ordered supercell approximant instead of partial occupancies")
    s.add_argument("--no-link", action="store_true", help="do not follow the last sliders")

    s = sub.add_parser("suggest", help="next compositions to make (Bayesian optimization)")
    s.add_argument("-n", type=int, default=5, help="batch size (default 5)")
    s.add_argument("--acquisition", default="ei",
                   choices=["ei", "pi", "ucb", "lcb", "greedy", "random"],
                   help="acquisition function (default ei)")
    s.add_argument("--objective", default="max", choices=["max", "min"],
                   help="maximize or minimize the target (default max)")
    s.add_argument("--path", default=None,
                   help="campaign file to create or resume (default: in memory)")
    s.add_argument("--seed", type=int, default=0, help="random seed (default 0)")

    s = sub.add_parser("tell", help="record measurements: Formula=value ...")
    s.add_argument("measurements", nargs="+", help="e.g. Fe0.7Cr0.2Ni0.1=1234")

    s = sub.add_parser("campaign", help="campaign panel: suggestions, measurements, convergence")
    s.add_argument("path", nargs="?", default=None, help="campaign file to open (default: current)")

    s = sub.add_parser("screen", help="rank every composition of the space by the model")
    s.add_argument("--top-k", type=int, default=100, help="how many to keep (default 100)")
    s.add_argument("--objective", default="max", choices=["max", "min"],
                   help="maximize or minimize (default max)")
    s.add_argument("--in-domain", action="store_true",
                   help="keep only compositions inside the model's applicability domain")

    sub.add_parser("status", help="what is loaded: dataset, model, space, campaign")
    sub.add_parser("help", help="show this help")
    return p


def _conditions(items: list[str]) -> dict[str, float] | None:
    if not items:
        return None
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            out[key] = float(value)
        except ValueError:
            raise UsageError(f"cannot read condition {item!r}: use name=value, e.g. temperature=300") from None
        if not sep:
            raise UsageError(f"cannot read condition {item!r}: use name=value, e.g. temperature=300")
    return out


@magics_class
class MatoptMagics(Magics):
    """Thin wrappers: parse the line, call the backend, return a widget or a DataFrame."""

    @line_magic
    def matopt(self, line: str) -> Any:
        """Machine-learning guided composition optimization; ``%matopt help`` for commands."""
        parser = build_parser()
        try:
            args = parser.parse_args(shlex.split(line))
        except _HelpShown:
            return None
        except _ArgumentError as exc:
            raise UsageError(str(exc) or "invalid arguments; see %matopt help") from None
        except ValueError as exc:  # shlex: unbalanced quotes
            raise UsageError(f"cannot read the command line: {exc}") from None
        if args.cmd in (None, "help"):
            parser.print_help()
            return None
        handler = getattr(self, f"_do_{args.cmd}")
        try:
            return handler(args)
        except UsageError:
            raise
        except (SessionError, ValueError, FileNotFoundError, ImportError) as exc:
            # user errors from the backend are ValueError subclasses with one clear sentence
            raise UsageError(str(exc)) from None

    # ---------------------------------------------------------------- data
    def _do_list(self, args: argparse.Namespace) -> Any:
        from .data import list_datasets

        return list_datasets()

    def _do_load(self, args: argparse.Namespace) -> Any:
        from .data import Dataset, load_dataset

        src = args.source
        if src.lower().endswith((".csv", ".tsv", ".txt")) or Path(src).is_file():
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
            ds = load_dataset(src, **kw)
        if args.sample is not None and args.sample < len(ds):
            import numpy as np

            idx = np.sort(np.random.default_rng(0).choice(len(ds), args.sample, replace=False))
            ds = ds.subset(idx)
        st = session()
        st.dataset, st.model, st.cv_report = ds, None, None
        return ds

    # --------------------------------------------------------------- model
    def _do_train(self, args: argparse.Namespace) -> Any:
        from .models import PropertyModel

        st = session()
        ds = st.require("dataset", "run `%matopt load <name>` first")
        t0 = time.perf_counter()
        model = PropertyModel(estimator=args.estimator, seed=args.seed)
        if args.tune:
            model.set_params(tune=True)
        model.fit(ds)
        st.model, st.cv_report = model, None
        print(f"Trained {args.estimator} on {len(ds):,} rows of {ds.name} "
              f"({ds.target}{' / ' + ds.units if ds.units else ''}) "
              f"in {time.perf_counter() - t0:.1f} s.")
        return model

    def _do_cv(self, args: argparse.Namespace) -> Any:
        from .models import PropertyModel
        from .widgets.progress import tqdm_callback

        st = session()
        ds = st.require("dataset", "run `%matopt load <name>` first")
        model = st.model if st.model is not None else PropertyModel()
        protocol = args.protocol or ("matbench" if str(ds.name).startswith("matbench") else "group")
        if args.compare:
            protocols = ["random", "group", "leave-element-out", "leave-cluster-out"]
            with tqdm_callback(desc="cross-validation") as cb:
                return model.compare_protocols(ds, protocols=protocols, callback=cb)
        with tqdm_callback(desc=f"{protocol} CV") as cb:
            report = model.cross_validate(ds, protocol=protocol, callback=cb)
        st.cv_report = report
        if not args.no_plot:
            from IPython.display import display

            from .widgets.plots import parity_plot

            display(report)
            fig = parity_plot(report)
            display(fig)
            return None
        return report

    def _model(self) -> Any:
        return session().require("model", "run `%matopt train` first")

    def _do_predict(self, args: argparse.Namespace) -> Any:
        import pandas as pd

        model = self._model()
        cond = _conditions(args.cond)
        conditions = pd.DataFrame([cond] * len(args.formulas)) if cond else None
        mean, std = model.predict(args.formulas, conditions=conditions, return_std=True)
        dom = model.predict_domain(args.formulas, conditions=conditions)
        frame = pd.DataFrame({"composition": args.formulas, "prediction": mean, "std": std,
                              "in_domain": list(dom["in_domain"]), "reason": list(dom["reason"])})
        units = getattr(model, "units_", "") or ""
        frame.attrs["units"] = units
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
        print(f"{args.formula}: prediction {exp.prediction:.4g} = base {exp.base_value:.4g} "
              f"+ contributions (TreeSHAP)")
        return top.head(30).to_frame("contribution")

    # --------------------------------------------------------------- space
    def _do_space(self, args: argparse.Namespace) -> Any:
        from .core import CompositionSpace

        space = CompositionSpace(_bounds(args.components), step=args.step,
                                 max_components=args.max_components)
        st = session()
        st.space, st.campaign = space, None
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
        w = CompositionSliders(space, model=st.model)
        st.sliders = w
        return w

    def _do_ternary(self, args: argparse.Namespace) -> Any:
        from .widgets import TernaryMap

        st = session()
        fixed = {k: v for k, v in _bounds(args.fixed).items() if isinstance(v, float)} or None
        w = TernaryMap(self._model(), elements=tuple(args.elements), fixed=fixed,
                       resolution=args.resolution, sliders=st.sliders)
        return w

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

    # ------------------------------------------------------------ campaign
    def _campaign(self, args: argparse.Namespace) -> Any:
        from .core import CompositionSpace
        from .optimize import Campaign

        st = session()
        if st.campaign is not None:
            return st.campaign
        if args.path and Path(args.path).exists():
            st.campaign = Campaign.load(args.path)
            return st.campaign
        space = st.space
        ds = st.dataset
        if space is None:
            if ds is None:
                raise UsageError("define a space (`%matopt space Fe=0.5:0.9 Cr Ni --step 0.01`) "
                                 "or load a dataset first")
            elements = _common_elements(ds)
            space = CompositionSpace(elements, step=0.01, max_components=min(len(elements), 5))
            st.space = space
            print(f"Using {space} from the dataset's most common elements.")
        camp = Campaign(space, objective=args.objective, acquisition=args.acquisition,
                        path=args.path, seed=args.seed)
        if ds is not None:
            rows = _rows_inside(ds, space)
            if rows is not None and len(rows[0]):
                camp.tell(rows[0], rows[1])
                print(f"Seeded the campaign with {len(rows[0])} measured compositions from "
                      f"{ds.name} that lie in the space.")
        st.campaign = camp
        return camp

    def _do_suggest(self, args: argparse.Namespace) -> Any:
        camp = self._campaign(args)
        return camp.suggest(args.n)

    def _do_tell(self, args: argparse.Namespace) -> Any:
        st = session()
        camp = st.require("campaign", "run `%matopt suggest` (or `%matopt campaign <file>`) first")
        comps, values = [], []
        for item in args.measurements:
            formula, sep, value = item.rpartition("=")
            try:
                values.append(float(value))
            except ValueError:
                raise UsageError(f"cannot read {item!r}: use Formula=value, e.g. Fe0.7Cr0.3=1234") from None
            if not sep or not formula:
                raise UsageError(f"cannot read {item!r}: use Formula=value, e.g. Fe0.7Cr0.3=1234")
            comps.append(formula)
        camp.tell(comps, values)
        print(f"Recorded {len(comps)} measurement(s); the campaign has {len(camp)} in all.")
        return None

    def _do_campaign(self, args: argparse.Namespace) -> Any:
        from .optimize import Campaign
        from .widgets import CampaignPanel

        st = session()
        if args.path:
            st.campaign = Campaign.load(args.path) if Path(args.path).exists() else None
            if st.campaign is None:
                raise UsageError(f"no campaign file at {args.path!r}; create one with "
                                 f"`%matopt suggest --path {args.path}`")
        camp = st.require("campaign", "run `%matopt suggest` (or `%matopt campaign <file>`) first")
        return CampaignPanel(camp)

    def _do_screen(self, args: argparse.Namespace) -> Any:
        from .screen import screen

        st = session()
        space = st.require("space", "define it with `%matopt space ... --step 0.01` first")
        model = self._model()
        filters = {"in_domain": True} if args.in_domain else None
        result = screen(space, model, top_k=args.top_k, objective=args.objective,
                        filters=filters, progress=True)
        st.screen_result = result
        return result

    def _do_status(self, args: argparse.Namespace) -> Any:
        st = session()
        lines = [
            f"dataset : {st.dataset.name} ({len(st.dataset):,} rows)" if st.dataset is not None
            else "dataset : none (`%matopt load ...`)",
            f"model   : {type(st.model).__name__} on {st.model.target_}" if st.model is not None
            else "model   : none (`%matopt train`)",
            f"space   : {st.space}" if st.space is not None else "space   : none (`%matopt space ...`)",
            f"campaign: {st.campaign}" if st.campaign is not None else "campaign: none (`%matopt suggest`)",
        ]
        print("\n".join(lines))
        return None


def _common_elements(ds: Any, k: int = 4) -> list[str]:
    from collections import Counter

    from .core import parse_composition

    counts: Counter[str] = Counter()
    for c in ds.compositions[:5000]:
        try:
            counts.update(parse_composition(c))
        except ValueError:
            continue
    return [e for e, _ in counts.most_common(k)]


def _rows_inside(ds: Any, space: Any) -> tuple[list[Any], list[float]] | None:
    """Dataset rows made only of the space's components (measured data to seed a campaign)."""
    import numpy as np

    from .core import parse_composition

    comps, ys = [], []
    allowed = set(space.components)
    for c, y in zip(ds.compositions, np.asarray(ds.y, dtype=float)):
        try:
            fr = parse_composition(c)
        except ValueError:
            continue
        if set(fr) <= allowed and np.isfinite(y):
            comps.append(fr)
            ys.append(float(y))
    return comps, ys


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%matopt`` (called by ``%load_ext jupyter_matopt``)."""
    ipython.register_magics(MatoptMagics)
