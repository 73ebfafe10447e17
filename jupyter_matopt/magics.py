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
import textwrap
import time
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class, no_var_expand

from ._session import SessionError, session

__all__ = ["MatoptMagics", "load_ipython_extension", "build_parser"]


class _ArgumentError(Exception):
    pass


class _HelpShown(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting the kernel."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _ArgumentError(f"{self.prog}: {message}")

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        if message:
            print(message)
        raise _ArgumentError("") if status else _HelpShown()


_LOOP = """\
A whole loop, magics only:
  %load_ext jupyter_matopt
  %matopt load matbench_steels      ($MATOPT_DATA_DIR, the cache, or a download)
  %matopt train
  %matopt cv
  %matopt predict Fe0.7Cr0.2Ni0.1
  %matopt explain Fe0.7Cr0.2Ni0.1
  %matopt sliders Fe Cr Ni Mo
  %matopt ternary Fe Cr Ni --fixed Mo=0.02
  %matopt structure fcc
  %matopt space Fe=0.5:0.9 Cr=0.1:0.3 Ni Mo=0.02 --step 0.01
  %matopt suggest -n 5 --path steel_campaign.json
  %matopt tell 0=1234 1=1180        (rows of the last suggestions, or Formula=value)
  %matopt campaign
  %matopt status

The same state is mo.session() in Python (mo.session().model is the trained model).
`%matopt help SUBCOMMAND` or `%matopt SUBCOMMAND -h` explains one subcommand."""


def _add(sub: Any, name: str, help: str, example: str, more: str = "") -> argparse.ArgumentParser:
    """A subcommand whose ``-h`` shows its help line, a longer note and an example."""
    description = help[0].upper() + help[1:] + "." + (
        "\n\n" + textwrap.fill(more, 79) if more else "")
    # argparse %-formats help strings (for %(default)s), so a literal % must be doubled
    return sub.add_parser(  # type: ignore[no-any-return]
        name, help=help.replace("%", "%%"), description=description,
        epilog=f"Example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``%matopt`` argument parser; its ``help=`` strings are the documentation."""
    p = _Parser(prog="%matopt", description="Machine-learning guided optimization of "
                "composition ratios: data, model, sliders, suggestions, measurements.",
                epilog=_LOOP, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", metavar="SUBCOMMAND", parser_class=_Parser)

    s = _add(sub, "load", "load a dataset by name (see `%matopt list`) or a CSV file",
             "%matopt load matbench_steels --data-dir ~/data",
             "Loading replaces the model and the last CV report (they belong to the old data).")
    s.add_argument("source", help="dataset name such as expt_formation_enthalpy or "
                   "matbench_steels, or the path of a CSV file")
    s.add_argument("--target", help="target column of a CSV, or one of a dataset's named "
                   "targets (default: the first)")
    s.add_argument("--data-dir", help="folder holding local copies of the dataset files "
                   "(no download is tried for files found there)")
    s.add_argument("--composition-col", help="composition column of a CSV (default: detected)")
    s.add_argument("--units", default=None, help="units of the target of a CSV, e.g. MPa")
    s.add_argument("--sample", type=int, default=None,
                   help="keep a random subset of this many rows (fast exploration)")
    g = s.add_argument_group("OPTIMADE databases (source optimade:PROVIDER or optimade:URL, "
                             "e.g. optimade:mp, optimade:oqmd, optimade:aflow)")
    g.add_argument("--elements", nargs="+", metavar="EL",
                   help="chemical system: entries made only of these elements")
    g.add_argument("--nelements", metavar="N|LO:HI",
                   help="number of elements, e.g. 3 or 2:3")
    g.add_argument("--filter", dest="optimade_filter", metavar="FILTER",
                   help="raw OPTIMADE filter, ANDed with the others")
    g.add_argument("--properties", nargs="+", metavar="FIELD",
                   help="provider fields, e.g. _oqmd_delta_e _oqmd_stability")
    g.add_argument("--max-results", type=int, default=None,
                   help="stop after this many entries (default 10000)")
    g.add_argument("--structures", action="store_true",
                   help="also fetch crystal structures (dataset.structures)")
    g.add_argument("--refresh", action="store_true",
                   help="ignore the cached copy and download again")

    _add(sub, "list", "list the built-in datasets", "%matopt list")

    s = _add(sub, "train", "fit the property model on the loaded dataset", "%matopt train",
             "An ensemble of gradient-boosted trees on composition descriptors; every "
             "prediction comes with a calibrated std and an applicability-domain flag.")
    s.add_argument("--estimator", default="xgboost", choices=["xgboost", "rf"],
                   help="model family: gradient boosting or random forest (default xgboost)")
    from .models.backends import available_backends

    s.add_argument("--backend", default=None, choices=list(available_backends()),
                   help="model backend (overrides --estimator): attention = attention network "
                        "over the elements, stack = trees + attention blended, auto = whichever "
                        "inner CV prefers; these need pip install \"jupyter_matopt[deep]\"")
    s.add_argument("--pretrained", default=None, metavar="NAME",
                   help="attention/stack/auto: fine-tune a shipped pretrained network, e.g. "
                        "formation_enthalpy")
    s.add_argument("--n-ensemble", type=int, default=None,
                   help="ensemble members; their spread is the uncertainty (default 4)")
    from .models import RF_DEFAULTS, XGB_DEFAULTS  # the defaults' one source

    s.add_argument("--n-estimators", type=int, default=None,
                   help=f"trees per member (default {XGB_DEFAULTS['n_estimators']} for "
                        f"xgboost, {RF_DEFAULTS['n_estimators']} for rf); fewer is faster")
    s.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    s.add_argument("--tune", action="store_true",
                   help="bounded hyperparameter search by inner CV (slower)")

    s = _add(sub, "cv", "cross-validate the model's configuration on the loaded dataset",
             "%matopt cv --protocol leave-cluster-out",
             "Draws a parity plot and returns the report. Uses the trained model's settings "
             "(or the defaults before `%matopt train`).")
    s.add_argument("--protocol", default=None,
                   choices=["matbench", "random", "group", "leave-element-out",
                            "leave-cluster-out"],
                   help="matbench (official folds), random, group (same reduced formula "
                        "stays in one fold), leave-element-out or leave-cluster-out "
                        "(default: matbench for matbench data, else group)")
    s.add_argument("--n-splits", type=int, default=5,
                   help="folds of the random, group and leave-cluster-out protocols "
                        "(default 5; matbench always uses its official 5)")
    s.add_argument("--compare", action="store_true",
                   help="a table of random CV beside the out-of-distribution protocols")
    s.add_argument("--no-plot", action="store_true", help="do not draw the parity plot")

    s = _add(sub, "predict", "predict compositions with uncertainty and a domain flag",
             "%matopt predict Fe0.7Cr0.2Ni0.1 Fe0.8Cr0.2")
    s.add_argument("formulas", nargs="+", help="formulas, e.g. Fe0.7Cr0.2Ni0.1 Bi2Te3")
    s.add_argument("--cond", nargs="*", default=[],
                   help="condition values of a model trained with conditions, "
                        "e.g. temperature=300")

    s = _add(sub, "explain", "per-element and per-property contributions (TreeSHAP)",
             "%matopt explain Fe0.7Cr0.2Ni0.1 --by property")
    s.add_argument("formula", help="a formula, e.g. Fe0.7Cr0.2Ni0.1")
    s.add_argument("--cond", nargs="*", default=[], help="condition values, e.g. temperature=300")
    s.add_argument("--by", default="element", choices=["element", "property", "feature"],
                   help="aggregate contributions by element (default), property or feature")

    s = _add(sub, "space", "define the composition space to search: El=low:high, El=fixed, El",
             "%matopt space Fe=0.5:0.9 Cr=0.1:0.3 Ni Mo=0.02 --step 0.01",
             "Fractions sum to 1. A new space starts a new campaign (the old one stays in its "
             "file).")
    s.add_argument("components", nargs="+",
                   help="El=low:high (bounds), El=value (fixed) or El (0 to 1), "
                        "e.g. Fe=0.5:0.9 Cr=0.1:0.3 Ni Mo=0.02")
    s.add_argument("--step", type=float, default=None, help="grid step, e.g. 0.01")
    s.add_argument("--max-components", type=int, default=None,
                   help="largest number of non-zero components")

    s = _add(sub, "sliders", "coupled composition sliders with live prediction",
             "%matopt sliders Fe Cr=0.1:0.3 Ni Mo",
             "Moving one slider rebalances the others so the fractions always sum to 1.")
    s.add_argument("components", nargs="*",
                   help="elements, or El=low:high bounds (default: the current space)")
    s.add_argument("--step", type=float, default=None, help="slider step, e.g. 0.005")

    s = _add(sub, "ternary", "map of the predicted property over a ternary A-B-C",
             "%matopt ternary Fe Cr Ni --fixed Mo=0.02",
             "Click the map to set the last sliders; switch mean/uncertainty in the view.")
    s.add_argument("elements", nargs="+", help="the three corner elements, e.g. Fe Cr Ni")
    s.add_argument("--fixed", nargs="*", default=[],
                   help="other components at fixed fractions, e.g. Mo=0.02 Mn=0.01")
    s.add_argument("--resolution", type=int, default=60,
                   help="grid divisions per edge, 1 to 400 (default 60)")

    s = _add(sub, "structure", "crystal structure decorated with the composition of the "
             "last sliders", "%matopt structure fcc",
             "Needs the `structure` extra (nglview, ase). Follows the sliders as they move.")
    s.add_argument("source", help="a CIF file, a prototype (fcc, bcc, hcp, perovskite, ...) "
                   "or a formula")
    s.add_argument("--ordered", action="store_true",
                   help="an ordered supercell approximant instead of partial occupancies")
    s.add_argument("--no-link", action="store_true", help="do not follow the last sliders")

    s = _add(sub, "stability", "energy above the DFT hull from a universal potential, with "
             "the phase diagram of the chemical system", "%matopt stability Ni0.25Al0.75",
             "Needs the `mlip` extra (SevenNet or CHGNet). Relaxes a few prototypes of the "
             "composition (cached on disk) and places the lowest energy against the hull of "
             "DFT formation energies; takes seconds to minutes per composition.")
    s.add_argument("formula", help="the composition, e.g. Ni0.25Al0.75 or NiAl3")
    s.add_argument("--potential", choices=("sevennet", "chgnet"), default="sevennet",
                   help="universal potential (default sevennet, 7net-l3i5)")
    s.add_argument("--prototypes", nargs="*", default=None,
                   help="prototype names to relax (default: picked by stoichiometry)")
    s.add_argument("--reference", choices=("mp", "oqmd"), default="mp",
                   help="DFT formation energies of the hull (default mp: CritExam__Ef)")
    s.add_argument("--data-dir", default=None,
                   help="folder holding crabnet_benchmark/ (default $MATOPT_DATA_DIR)")
    s.add_argument("--no-plot", action="store_true", help="print the estimate only")

    s = _add(sub, "suggest", "next compositions to make (Bayesian optimization over the space)",
             "%matopt suggest -n 5 --path steel_campaign.json",
             "Continues the current campaign, or starts one over the current space (or, "
             "without one, the space of the last sliders), seeded with the loaded dataset's "
             "measurements that lie inside the space. The trained model is the GP's prior "
             "mean. Record results with `%matopt tell`.")
    s.add_argument("-n", type=int, default=5, help="batch size (default 5)")
    from .optimize.acquisition import (  # names, summaries and default: one registry
        DEFAULT_ACQUISITION,
        acquisition_names,
        describe_acquisitions,
    )

    s.add_argument("--acquisition", default=None, choices=list(acquisition_names(objectives=1)),
                   help=f"acquisition function of a new campaign (default: Campaign's, "
                        f"{DEFAULT_ACQUISITION}): {describe_acquisitions(objectives=1)}")
    s.add_argument("--objective", default=None, choices=["max", "min"],
                   help="maximize or minimize the target in a new campaign (default max)")
    s.add_argument("--path", default=None,
                   help="campaign file to create or resume; every measurement is appended "
                        "to it at once (default: in memory)")
    s.add_argument("--seed", type=int, default=None,
                   help="random seed of a new campaign (default 0)")
    s.add_argument("--no-data", action="store_true",
                   help="do not seed a new campaign with the dataset's measurements")
    s.add_argument("--no-model", action="store_true",
                   help="do not use the trained model (by default a new campaign fits its GP "
                        "to the model's residuals, and ranks by the model alone until it has "
                        "3 measurements inside the space)")

    s = _add(sub, "tell", "record measurements in the campaign",
             "%matopt tell 0=1234 Fe0.7Cr0.2Ni0.08Mo0.02=1180",
             "ROW=value refers to a row of the last `%matopt suggest` table.")
    s.add_argument("measurements", nargs="+",
                   help="ROW=value or Formula=value, e.g. 0=1234 Fe0.7Cr0.2Ni0.08Mo0.02=1180")

    s = _add(sub, "campaign", "campaign panel: suggestions, measured values, convergence",
             "%matopt campaign steel_campaign.json",
             "Type values into the table and press Record; they go to the campaign file.")
    s.add_argument("path", nargs="?", default=None,
                   help="campaign file to open (default: the current campaign)")

    s = _add(sub, "screen", "rank every composition of the space by the model",
             "%matopt screen --top-k 20 --in-domain")
    s.add_argument("--top-k", type=int, default=100, help="how many to keep (default 100)")
    s.add_argument("--objective", default="max", choices=["max", "min"],
                   help="maximize or minimize the prediction (default max)")
    s.add_argument("--in-domain", action="store_true",
                   help="keep only compositions inside the model's applicability domain")
    s.add_argument("--n-samples", type=int, default=None,
                   help="random samples of a space without a step (default 1,000,000)")
    s.add_argument("--frame", action="store_true",
                   help="return the ranked DataFrame instead of the table widget (the frame "
                        "is kept in mo.session().screen_result either way)")

    s = _add(sub, "generate", "propose new compositions with a generative model, ranked",
             "%matopt generate -n 20 --target max",
             "Fits a CompositionGenerator on the loaded dataset (kept for the next call), "
             "samples it, ranks by the model's mean and std and draws the latent map.")
    s.add_argument("-n", type=int, default=20, help="proposals to return (default 20)")
    s.add_argument("--target", default="max", help="max, min or a target value (default max)")
    s.add_argument("--kind", default="wae", choices=["wae", "vae"], help="autoencoder kind")
    s.add_argument("--n-samples", type=int, default=10_000,
                   help="candidates drawn before ranking (default 10,000)")
    s.add_argument("--diversity", type=float, default=0.02,
                   help="smallest max-fraction difference between proposals (default 0.02)")
    s.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    s.add_argument("--refit", action="store_true", help="fit a new generator")
    s.add_argument("--no-map", action="store_true", help="do not draw the latent map")
    s.add_argument("--frame", action="store_true",
                   help="return the ranked DataFrame instead of the table widget")

    _add(sub, "status", "what is loaded: dataset, model, CV, space, campaign", "%matopt status")
    s = _add(sub, "help", "show this help, or one subcommand's", "%matopt help suggest")
    s.add_argument("topic", nargs="?", default=None, help="a subcommand")
    return p


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


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


def _name_values(items: list[str], what: str, example: str) -> dict[str, float] | None:
    """``name=number`` words as a dict (None when there are none)."""
    out = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        try:
            out[name] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name:
            raise UsageError(f"cannot read {what} {item!r}: use {example}")
    return out or None


def _fixed(items: list[str]) -> dict[str, float] | None:
    return _name_values(items, "fixed component", "El=fraction, e.g. Mo=0.02")


def _conditions(items: list[str]) -> dict[str, float] | None:
    return _name_values(items, "condition", "name=value, e.g. temperature=300")


def _one_line(exc: BaseException) -> str:
    # UsageError shows its message as is; a message spread over lines reads as a traceback
    return " ".join(str(exc).split()) or type(exc).__name__


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
        kw = {"step": args.step} if args.step is not None else {}
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
_OPTIMADE_ONLY = {"elements": "--elements", "nelements": "--nelements",
                  "optimade_filter": "--filter", "properties": "--properties",
                  "max_results": "--max-results", "structures": "--structures",
                  "refresh": "--refresh"}


def _load_optimade(where: str, args: argparse.Namespace) -> Any:
    """``%matopt load optimade:PROVIDER|URL ...``: load_optimade with a tqdm bar."""
    from .data.optimade import load_optimade
    from .widgets.progress import tqdm_callback

    if not where:
        raise UsageError("give a provider or base URL after optimade:, e.g. optimade:mp")
    nelements: Any = None
    if args.nelements:
        try:
            lo, _, hi = args.nelements.partition(":")
            nelements = (int(lo), int(hi)) if hi else int(lo)
        except ValueError:
            raise UsageError(f"--nelements takes N or LO:HI, e.g. 3 or 2:3; got "
                             f"{args.nelements!r}") from None
    kw: dict[str, Any] = {}
    if args.max_results is not None:
        kw["max_results"] = args.max_results
    with tqdm_callback(desc=f"OPTIMADE {where}", unit=" entries") as cb:
        return load_optimade(
            where, filter=args.optimade_filter, elements=args.elements, nelements=nelements,
            properties=args.properties, target=args.target, structures=args.structures,
            refresh=args.refresh, callback=cb, **kw)


def _show_figure(report: Any) -> None:
    """Display the parity plot once, under the inline backend as under ipympl."""
    import matplotlib
    import matplotlib.pyplot as plt
    from IPython.display import display

    from .widgets.plots import parity_plot

    # off interactive mode, neither backend shows the figure by itself at the end of the
    # cell, so `display` shows it exactly once
    with plt.ioff():
        fig = parity_plot(report)
    backend = matplotlib.get_backend().lower()
    if "ipympl" in backend or "widget" in backend:
        # the interactive canvas (zoom, pan); displaying the Figure itself would be a PNG
        display(fig.canvas)
    else:
        display(fig)
        plt.close(fig)  # a static image was shown; do not leak it into a later cell


def _sliders_space(sliders: Any) -> Any:
    """The region the sliders span: their bounds, locked elements and step."""
    from .core import CompositionSpace

    spec: dict[str, Any] = {}
    for e in sliders.elements:
        if e in sliders.fixed:
            spec[e] = float(sliders.fractions[e])
        else:
            spec[e] = (float(sliders.lower[e]), float(sliders.upper[e]))
    if float(sliders.step):
        return CompositionSpace(spec, step=float(sliders.step))
    try:  # continuous sliders: suggest on a 1 % grid, what a lab weighs out anyway
        return CompositionSpace(spec, step=0.01)
    except ValueError:  # e.g. a locked fraction off that grid
        return CompositionSpace(spec)


def _suggest_with_progress(camp: Any, n: int) -> Any:
    """``camp.suggest(n)`` under a progress bar fed by the campaign's own events."""
    from .widgets.progress import tqdm_callback

    steps = {"fit": 1, "candidates": 2, "refine": 3, "suggest": 4}
    previous = camp.callback
    with tqdm_callback(desc=f"suggest {n}") as bar:
        def on_event(event: str, info: dict[str, Any]) -> None:
            if event in steps:
                bar(steps[event], 4, event)
            if previous is not None:
                previous(event, info)

        camp.callback = on_event
        try:
            return camp.suggest(n)
        finally:
            camp.callback = previous


def _suggestion_table(camp: Any, frame: Any, st: Any) -> Any:
    """Suggestions with units, rounding, the model's domain flags and a readable acquisition."""
    from ._format import suggestion_table

    model = getattr(camp, "prior", None) or st.model
    ds = st.dataset
    units = getattr(model, "units_", None) or getattr(ds, "units", None) or ""
    target = getattr(model, "target_", None) or getattr(ds, "target", None) or "objective"
    domain = None
    space = camp.space
    comps = list(camp.components)
    if model is not None and space is not None and space.is_elemental and len(frame):
        try:
            domain = model.predict_domain_fractions(frame[comps].to_numpy(float), comps)
        except (ValueError, KeyError):  # e.g. an element the model has never seen
            domain = None
    from .optimize.surrogates import choose_surrogate

    kind = choose_surrogate(camp)
    how = {"model": "the trained model (too few measurements in the space for a GP yet)",
           "gp": ("a GP on the trained model's residuals" if camp.prior is not None
                  else "a GP"),
           "ensemble": "a tree ensemble"}.get(kind, kind)
    goal = "maximize" if camp.directions[0] == "max" else "minimize"
    caption = (f"{len(frame)} suggestion(s) to {goal} {target}: {camp.acquisition.upper()} on {how}; "
               f"{camp.n_observations} measurement(s) so far")
    return suggestion_table(frame, units=units, target=target, direction=camp.directions[0],
                            acquisition=camp.acquisition, kappa=camp.kappa, domain=domain,
                            caption=caption)


def _rows_inside(ds: Any, space: Any) -> tuple[list[Any], list[float]]:
    """Dataset rows inside the space's bounds (measured data to seed a campaign).

    Made only of the space's components *and* within every component's bounds: a pure
    element at a corner the space excludes says little about the region searched, and as
    a GP observation it would pull the fit towards the edge. The grid step is not
    required (measured compositions rarely sit on a 1 % grid).
    """
    import numpy as np

    from .core import parse_composition

    comps, ys = [], []
    names = list(space.components)
    lower = np.asarray(space.lower, dtype=float)
    upper = np.asarray(space.upper, dtype=float)
    allowed = set(names)
    for c, y in zip(ds.compositions, np.asarray(ds.y, dtype=float), strict=False):
        try:
            fr = parse_composition(c)
        except ValueError:
            continue
        if not (set(fr) <= allowed and np.isfinite(y)):
            continue
        x = np.array([fr.get(n, 0.0) for n in names])
        if np.all(x >= lower - 1e-6) and np.all(x <= upper + 1e-6):
            comps.append(fr)
            ys.append(float(y))
    return comps, ys


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%matopt`` (called by ``%load_ext jupyter_matopt``)."""
    ipython.register_magics(MatoptMagics)


def _backend_params(backend: str, n_estimators: int | None, pretrained: str | None
                    ) -> dict[str, Any]:
    """``PropertyModel(params=...)`` for ``%matopt train``: tree options go to the trees
    (inside a stack under ``"xgboost"``), ``--pretrained`` to the attention network."""
    from .models import ModelError

    trees = {"n_estimators": n_estimators} if n_estimators is not None else {}
    deep = {"pretrained": pretrained} if pretrained else {}
    if backend in ("stack", "auto"):
        return {k: v for k, v in (("xgboost", trees), ("attention", deep)) if v}
    if deep and backend != "attention":
        raise ModelError(f"--pretrained applies to the attention, stack and auto backends, "
                         f"not {backend!r}")
    if trees and backend == "attention":
        raise ModelError("--n-estimators applies to tree backends, not 'attention'")
    return {**trees, **deep}
