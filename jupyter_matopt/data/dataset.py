"""The :class:`Dataset` container: a DataFrame plus what a model needs to know about it."""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ._columns import (
    _TASKS,
    _bad_rows_message,
    _coerce_target,
    _composition_text,
    _detect_composition_col,
    _empty_report,
    _guess_target,
    _infer_task,
    _validate_compositions,
)
from ._errors import DatasetError, InvalidRowsError
from ._paths import read_csv_checked, read_csv_keep_formulas

__all__ = ["Dataset"]

Task = Literal["regression", "classification"]
class Dataset:
    """A table of compositions with a target property, its units, provenance and groups.

    Build one with :meth:`from_frame`, :meth:`from_csv` or
    :func:`~jupyter_matopt.data.load_dataset`. Methods that change anything return a new
    ``Dataset``; the underlying ``frame`` is not shared with the caller's DataFrame.

    Attributes:
        frame: The data, one row per measurement, with the original index labels.
        name: Short dataset name.
        composition_col: Column holding formulas as text (kept exactly as in the source).
        target: Column holding the property to model.
        units: Units of ``target`` (``""`` when unitless or unknown).
        task: ``"regression"`` or ``"classification"``.
        citation: Text to cite when using the data.
        description: What the rows are and how they were selected.
        conditions: Columns that are experimental conditions (e.g. ``["temperature"]``).
        group_col: Column holding a group key (the reduced, normalized composition: ``Fe2O3``
            and ``Fe4O6`` share one), for group-aware cross-validation.
        source: File path or description of where the data came from.
        bad_rows: Rows dropped because their composition did not parse (``index``, ``input``,
            ``reason``); empty unless built with ``bad_rows="skip"``.
        column_units: Units of other columns, used by :meth:`with_target`.
        target_aliases: Friendly names accepted by :meth:`with_target`, mapped to columns.
        attrs: Free-form provenance (e.g. how many rows a loader dropped and why).
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        *,
        name: str,
        composition_col: str,
        target: str,
        group_col: str,
        units: str = "",
        task: Task = "regression",
        citation: str = "",
        description: str = "",
        conditions: Sequence[str] = (),
        source: str = "",
        bad_rows: pd.DataFrame | None = None,
        column_units: Mapping[str, str] | None = None,
        target_aliases: Mapping[str, str] | None = None,
        attrs: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(frame, pd.DataFrame):
            raise DatasetError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
        if task not in _TASKS:
            raise DatasetError(f"task must be 'regression' or 'classification', got {task!r}")
        conditions = list(conditions)
        for role, col in [
            ("composition", composition_col),
            ("target", target),
            ("group", group_col),
        ]:
            if col not in frame.columns:
                raise DatasetError(
                    f"{role} column {col!r} is not in dataset {name!r}; available columns: "
                    f"{list(frame.columns)}"
                )
        missing = [c for c in conditions if c not in frame.columns]
        if missing:
            raise DatasetError(
                f"condition column(s) {missing} not in dataset {name!r}; available columns: "
                f"{list(frame.columns)}"
            )
        self.frame = frame
        self.name = name
        self.composition_col = composition_col
        self.target = target
        self.units = units
        self.task: Task = task
        self.citation = citation
        self.description = description
        self.conditions = conditions
        self.group_col = group_col
        self.source = source
        self.bad_rows = _empty_report() if bad_rows is None else bad_rows
        self.column_units = dict(column_units or {})
        self.target_aliases = dict(target_aliases or {})
        self.attrs = dict(attrs or {})

    # ----------------------------------------------------------------- constructors

    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        composition_col: str | None = None,
        target: str | None = None,
        *,
        units: str = "",
        task: Literal["auto", "regression", "classification"] = "auto",
        conditions: Sequence[str] = (),
        name: str = "dataset",
        citation: str = "",
        description: str = "",
        source: str = "DataFrame",
        group_col: str | None = None,
        bad_rows: Literal["raise", "skip"] = "raise",
        column_units: Mapping[str, str] | None = None,
        target_aliases: Mapping[str, str] | None = None,
        attrs: Mapping[str, Any] | None = None,
    ) -> Dataset:
        """Wrap a DataFrame, checking that every composition parses.

        Args:
            df: The data; it is copied, never modified.
            composition_col: Column of formulas. None picks a column named like
                ``composition``/``formula``/``FORMULA``/``Pymatgen Composition``, else the
                only text column whose values parse as compositions.
            target: Column to model. None picks the only numeric column left.
            units: Units of the target.
            task: ``"auto"`` (default) makes a target holding only 0/1 or booleans a
                classification, anything else a regression.
            conditions: Columns that are experimental conditions (e.g. temperature).
            name: Short dataset name.
            citation: Text to cite.
            description: What the rows are.
            source: Where the data came from.
            group_col: An existing group column; None adds a ``group`` column holding the
                reduced normalized composition.
            bad_rows: ``"raise"`` (default) raises one :class:`InvalidRowsError` (a
                ``DatasetError`` and a ``CompositionError``) naming every bad row and
                reason; ``"skip"`` drops them and keeps the report in ``dataset.bad_rows``.
            column_units: Units of other columns, for :meth:`with_target`.
            target_aliases: Friendly target names mapped to columns.
            attrs: Free-form provenance.

        Returns:
            The dataset. Compositions given as mappings or pymatgen ``Composition`` objects
            are stored as formula text; text formulas are kept exactly.

        Raises:
            DatasetError: for a missing column (naming the available ones), a non-numeric
                target, or (``bad_rows="raise"``) compositions that do not parse.
        """
        return cls._build(
            df,
            composition_col,
            target,
            units=units,
            task=task,
            conditions=conditions,
            name=name,
            citation=citation,
            description=description,
            source=source,
            group_col=group_col,
            bad_rows=bad_rows,
            column_units=column_units,
            target_aliases=target_aliases,
            attrs=attrs,
            copy=True,
        )

    @classmethod
    def from_csv(
        cls,
        path: str | os.PathLike[str],
        composition_col: str | None = None,
        target: str | None = None,
        *,
        units: str = "",
        task: Literal["auto", "regression", "classification"] = "auto",
        conditions: Sequence[str] = (),
        name: str | None = None,
        citation: str = "",
        description: str = "",
        group_col: str | None = None,
        bad_rows: Literal["raise", "skip"] = "raise",
    ) -> Dataset:
        """Read a CSV file into a :class:`Dataset` (see :meth:`from_frame` for the options).

        The composition column is kept as the exact text of the file: pandas would otherwise
        read a formula such as ``NaN`` (sodium nitride) as a missing value. ``name`` defaults
        to the file name without extension. Row labels in error reports are 0-based data rows
        (file line = row + 2).

        Raises:
            DatasetError: if the file does not exist, plus everything :meth:`from_frame` raises.
        """
        path = Path(path).expanduser()
        # missing, a folder, a FIFO, not UTF-8, empty, not CSV: one DatasetError naming it
        frame = read_csv_checked(path)
        comp = composition_col
        if comp is None:
            exclude = [c for c in [target, *conditions] if c is not None]
            comp = _detect_composition_col(frame, exclude)
        frame = read_csv_keep_formulas(path, [comp], frame=frame)
        return cls._build(
            frame,
            comp,
            target,
            units=units,
            task=task,
            conditions=conditions,
            name=name or path.stem,
            citation=citation,
            description=description,
            source=str(path),
            group_col=group_col,
            bad_rows=bad_rows,
            copy=False,
        )

    @classmethod
    def _build(
        cls,
        df: pd.DataFrame,
        composition_col: str | None,
        target: str | None,
        *,
        units: str,
        task: str,
        conditions: Sequence[str],
        name: str,
        citation: str,
        description: str,
        source: str,
        group_col: str | None,
        bad_rows: str,
        column_units: Mapping[str, str] | None = None,
        target_aliases: Mapping[str, str] | None = None,
        attrs: Mapping[str, Any] | None = None,
        copy: bool,
    ) -> Dataset:
        if not isinstance(df, pd.DataFrame):
            raise DatasetError(f"expected a pandas DataFrame, got {type(df).__name__}")
        if bad_rows not in ("raise", "skip"):
            raise DatasetError(f"bad_rows must be 'raise' or 'skip', got {bad_rows!r}")
        if task not in ("auto", *_TASKS):
            raise DatasetError(
                f"task must be 'auto', 'regression' or 'classification', got {task!r}"
            )
        frame = df.copy() if copy else df
        conditions = list(conditions)
        aliases = dict(target_aliases or {})
        if target is not None:
            target = aliases.get(target, target)
        if composition_col is None:
            composition_col = _detect_composition_col(
                frame, [c for c in [target, *conditions] if c]
            )
        for role, col in [
            ("composition", composition_col),
            *[("condition", c) for c in conditions],
        ]:
            if col not in frame.columns:
                raise DatasetError(
                    f"{role} column {col!r} is not in {name!r}; available columns: "
                    f"{list(frame.columns)}"
                )
        if target is None:
            target = _guess_target(frame, [composition_col, *conditions, group_col])
        if target not in frame.columns:
            raise DatasetError(
                f"target column {target!r} is not in {name!r}; available columns: "
                f"{list(frame.columns)}"
            )
        frame[target] = _coerce_target(frame[target], target)

        keys, report = _validate_compositions(frame[composition_col])
        if len(report):
            if bad_rows == "raise":
                raise InvalidRowsError(
                    _bad_rows_message(report, len(frame), composition_col, source), report
                )
            keep = keys.notna().to_numpy()
            frame, keys = frame.loc[keep].copy(), keys[keep]
        if frame[composition_col].map(lambda v: not isinstance(v, str)).any():
            frame[composition_col] = frame[composition_col].map(_composition_text)
        if group_col is None:
            group_col = "group"
            while group_col in frame.columns:  # never overwrite a column of the caller's
                group_col = f"composition_{group_col}"
            frame[group_col] = keys.to_numpy(dtype=object)
        elif group_col not in frame.columns:
            raise DatasetError(
                f"group column {group_col!r} is not in {name!r}; available columns: "
                f"{list(frame.columns)}"
            )
        resolved: Task = _infer_task(frame[target]) if task == "auto" else task  # type: ignore[assignment]
        return cls(
            frame,
            name=name,
            composition_col=composition_col,
            target=target,
            group_col=group_col,
            units=units,
            task=resolved,
            citation=citation,
            description=description,
            conditions=conditions,
            source=source,
            bad_rows=report.reset_index(drop=True) if len(report) else None,
            column_units=column_units,
            target_aliases=aliases,
            attrs=attrs,
        )

    # ------------------------------------------------------------------- accessors

    @property
    def compositions(self) -> list[str]:
        """The formulas, as text, in row order."""
        return self.frame[self.composition_col].tolist()

    @property
    def y(self) -> np.ndarray:
        """The target as a numpy array (int for a 0/1 classification target, else float)."""
        values = self.frame[self.target]
        if self.task == "classification" and values.notna().all():
            return values.to_numpy().astype(int)
        return values.to_numpy(dtype=float)

    @property
    def groups(self) -> np.ndarray:
        """Group key per row (reduced normalized composition), for group-aware splits."""
        return self.frame[self.group_col].to_numpy()

    @property
    def X_conditions(self) -> pd.DataFrame:
        """The condition columns (zero columns when there are none)."""
        return self.frame[self.conditions].copy()

    @property
    def structures(self) -> list[Any]:
        """Crystal structures in row order (pymatgen ``Structure``; None where absent).

        Available when the loader fetched them (``load_optimade(..., structures=True)``); the
        column is named in ``attrs["structure_col"]``.
        """
        col = self.attrs.get("structure_col")
        if col is None or col not in self.frame.columns:
            raise DatasetError(
                f"dataset {self.name!r} has no structures; load them with "
                "load_optimade(..., structures=True)"
            )
        return self.frame[col].tolist()

    def __len__(self) -> int:
        return len(self.frame)

    def head(self, n: int = 5) -> pd.DataFrame:
        """The first ``n`` rows of ``frame``."""
        return self.frame.head(n)

    # ------------------------------------------------------------- derived datasets

    def _replace(self, **changes: Any) -> Dataset:
        fields: dict[str, Any] = dict(
            frame=self.frame,
            name=self.name,
            composition_col=self.composition_col,
            target=self.target,
            group_col=self.group_col,
            units=self.units,
            task=self.task,
            citation=self.citation,
            description=self.description,
            conditions=self.conditions,
            source=self.source,
            bad_rows=self.bad_rows,
            column_units=self.column_units,
            target_aliases=self.target_aliases,
            attrs=self.attrs,
        )
        fields.update(changes)
        frame = fields.pop("frame")
        return Dataset(frame, **fields)

    def _resolve_column(self, col: str) -> str:
        if col in self.target_aliases:
            return self.target_aliases[col]
        if col in self.frame.columns:
            return col
        folded = {str(c).lower(): c for c in self.frame.columns}
        folded.update({k.lower(): v for k, v in self.target_aliases.items()})
        if col.lower() in folded:
            return folded[col.lower()]
        aliases = f"; friendly names: {sorted(self.target_aliases)}" if self.target_aliases else ""
        raise DatasetError(
            f"column {col!r} is not in dataset {self.name!r}; available columns: "
            f"{list(self.frame.columns)}{aliases}"
        )

    def with_target(self, col: str, units: str | None = None) -> Dataset:
        """A new dataset modelling another column (a column name or a friendly alias).

        Args:
            col: Column name, or one of ``target_aliases`` (e.g. ``"pf_p"``).
            units: Units of the new target; None looks them up in ``column_units``.

        Returns:
            A dataset over the same rows. Loaders that drop rows with a missing target did so
            for the original target; for all rows of another target use
            ``load_dataset(name, target=col)``, or call :meth:`dropna` on the result.
        """
        column = self._resolve_column(col)
        frame = self.frame.copy()
        frame[column] = _coerce_target(frame[column], column)
        return self._replace(
            frame=frame,
            target=column,
            units=self.column_units.get(column, "") if units is None else units,
            task=_infer_task(frame[column]),
        )

    def with_conditions(self, conditions: Sequence[str]) -> Dataset:
        """A new dataset treating ``conditions`` (column names) as experimental conditions."""
        return self._replace(conditions=[self._resolve_column(c) for c in conditions])

    def subset(self, mask_or_index: Any) -> Dataset:
        """A new dataset with some rows.

        Args:
            mask_or_index: A boolean mask of length ``len(self)`` (array, list or Series), or
                integer positions (not index labels).
        """
        key = mask_or_index
        if isinstance(key, pd.Series):
            key = key.to_numpy()
        key = np.asarray(key)
        if key.dtype == bool:
            if key.shape != (len(self.frame),):
                raise DatasetError(
                    f"a boolean mask must have one entry per row ({len(self.frame)}), got shape "
                    f"{key.shape}"
                )
        elif key.size and not np.issubdtype(key.dtype, np.integer):
            raise DatasetError(
                f"subset expects a boolean mask or integer positions, got {key.dtype} values"
            )
        return self._replace(frame=self.frame.iloc[key.astype(int) if key.dtype != bool else key])

    def dropna(self) -> Dataset:
        """A new dataset without rows missing the composition, the target or a condition."""
        cols = [self.composition_col, self.target, *self.conditions]
        return self._replace(frame=self.frame.dropna(subset=cols))

    # -------------------------------------------------------------------- display

    def _summary(self) -> list[tuple[str, str]]:
        target = f"{self.target!r}" + (f" [{self.units}]" if self.units else "")
        rows = [
            ("rows", f"{len(self):,}"),
            ("target", f"{target}, {self.task}"),
            ("composition", repr(self.composition_col)),
        ]
        if self.conditions:
            rows.append(("conditions", ", ".join(map(repr, self.conditions))))
        if len(self.bad_rows):
            rows.append(("skipped", f"{len(self.bad_rows)} row(s) with invalid compositions"))
        if self.citation:
            cite = self.citation if len(self.citation) <= 120 else self.citation[:117] + "..."
            rows.append(("citation", cite))
        return rows

    def __repr__(self) -> str:
        lines = [f"Dataset({self.name!r})"] + [f"  {k}: {v}" for k, v in self._summary()]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        cells = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
            for k, v in self._summary()
        )
        return (
            f"<div class='jp-matopt-dataset'><b>Dataset</b> <code>{html.escape(self.name)}</code>"
            f"<table>{cells}</table></div>"
        )
