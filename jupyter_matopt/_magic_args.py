"""The ``%matopt`` argument parser: subcommands, options, their help, and the small
readers of ``name=value`` words. Split from :mod:`jupyter_matopt.magics` so each stays short;
the help text is built from the library's registries (one source of names and defaults).
"""

from __future__ import annotations

import argparse
import textwrap
from typing import Any

from IPython.core.error import UsageError


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

    _data_commands(sub)
    _model_commands(sub)
    _explore_commands(sub)
    _campaign_commands(sub)
    _search_commands(sub)
    return p


def _data_commands(sub: Any) -> None:
    """Subcommands that load data: ``load``, ``list``."""
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


def _model_commands(sub: Any) -> None:
    """Subcommands of the property model: ``train``, ``cv``, ``predict``, ``explain``."""
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


def _explore_commands(sub: Any) -> None:
    """Subcommands that explore compositions: ``space``, ``sliders``, ``ternary``,
    ``structure``, ``stability``."""
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
    s.add_argument("--stability", action="store_true",
                   help="add a Stability button: energy above the DFT reference hull for the "
                        "current composition, on request (needs the mlip extra)")

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


def _campaign_commands(sub: Any) -> None:
    """Subcommands of the optimization campaign: ``suggest``, ``tell``, ``campaign``."""
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


def _search_commands(sub: Any) -> None:
    """Subcommands that search at scale, and the session ones: ``screen``, ``generate``,
    ``status``, ``help``."""
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
