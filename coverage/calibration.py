"""Calibration of the predictions against measurements (DESIGN §4).

Drive-test or crowd-sourced RSRP at some villages (``measured_rsrp_dbm``) tells how
far the model is off where the planners work. :func:`calibrate` fits, per clutter
(the village's ``clutter``, Hata's environment), a correction of the predicted level

    measured − predicted ≈ offset_db + slope_db_per_decade · log10(d_km)

(ordinary least squares; ``d_km`` the distance to the predicted server, so the
offset is the correction at 1 km), and reports the root-mean-square error of the
predictions before and after the correction **on villages it was not fitted to**:
stratified k-fold cross-validation, each village's corrected value coming from
the fit on the other folds. The folds are drawn from ``seed`` (same input and seed,
same folds). The correction finally reported is the fit on all measured villages;
:meth:`CalibrationResult.apply` adds it to an :class:`~covgap.analysis.AnalysisSettings`
(``clutter_offset_db``, ``clutter_slope_db_per_decade``), which every later
:func:`~covgap.analysis.assess_villages` run then applies to every predicted level
of the villages of that clutter.

What is compared: the assessment's ``predicted_rsrp_dbm`` — the predicted RSRP of the
measured operator's best 4G/5G server when ``measured_operator`` is given, else the
best over all operators — with the measurement. Measured villages with no predicted
server in reach cannot be compared and are counted apart (``n_unpredicted``). A
clutter with fewer than ``min_slope_villages`` villages in a fit, or whose distances
span less than ``min_log_spread`` decades, gets an offset only; a clutter with none
gets no correction. Pure: no file I/O (the pipeline writes ``calibration.json``
from :meth:`CalibrationResult.to_dict`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from .analysis import AnalysisSettings
from .errors import ScenarioError, SchemaError
from .propagation import ENVIRONMENTS, MIN_DISTANCE_KM

FloatArray = npt.NDArray[np.float64]

#: Fewest villages of a clutter (in one fit) for a slope; fewer get an offset only.
MIN_SLOPE_VILLAGES = 10
#: Least spread (standard deviation) of log10(d_km) for a slope, decades.
MIN_LOG_SPREAD = 0.1


@dataclass(frozen=True)
class CalibrationResult:
    """Result of :func:`calibrate`. RMSE and bias in dB (bias = mean of measured − predicted)."""

    #: fitted on all measured villages: dB added to the predicted level per clutter
    offset_db: Mapping[str, float]
    #: fitted on all measured villages: dB per decade of distance (km) per clutter
    slope_db_per_decade: Mapping[str, float]
    #: one row per clutter (ENVIRONMENTS order): ``clutter``, ``n``, ``offset_db``,
    #: ``slope_db_per_decade``, ``rmse_before_db``, ``rmse_after_db`` (held out),
    #: ``bias_before_db``, ``bias_after_db`` (NaN where n = 0)
    per_clutter: pd.DataFrame
    #: one row per compared village: ``village_id`` (when the input has it), ``row``
    #: (position in the input), ``clutter``, ``fold``, ``distance_m``,
    #: ``measured_rsrp_dbm``, ``predicted_rsrp_dbm``, ``corrected_rsrp_dbm`` (held out)
    held_out: pd.DataFrame
    #: measured villages compared (with a predicted server)
    n_villages: int
    #: measured villages without a predicted server in reach (not compared)
    n_unpredicted: int
    k: int
    seed: int
    #: over the compared villages, the predictions as they are
    rmse_before_db: float
    #: over the same villages, each corrected by the fit on the other folds
    rmse_after_db: float
    bias_before_db: float
    bias_after_db: float

    @property
    def improves(self) -> bool:
        """The held-out RMSE is lower after the correction than before."""
        return self.rmse_after_db < self.rmse_before_db

    def apply(self, settings: AnalysisSettings) -> AnalysisSettings:
        """``settings`` with this correction added to its calibration terms.

        Additive: the fit is relative to the predictions it was given, which already
        carried ``settings``' own offsets and slopes (if it was they that made them).
        """
        offset = dict(settings.clutter_offset_db)
        slope = dict(settings.clutter_slope_db_per_decade)
        for clutter in ENVIRONMENTS:
            a = self.offset_db.get(clutter, 0.0)
            b = self.slope_db_per_decade.get(clutter, 0.0)
            if a:
                offset[clutter] = offset.get(clutter, 0.0) + a
            if b:
                slope[clutter] = slope.get(clutter, 0.0) + b
        return dataclasses.replace(
            settings,
            clutter_offset_db=MappingProxyType(offset),
            clutter_slope_db_per_decade=MappingProxyType(slope),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (``calibration.json``): dB rounded to 0.001, NaN → None."""

        def num(x: float) -> float | None:
            return None if not math.isfinite(x) else round(float(x), 3)

        per: dict[str, Any] = {}
        for r in self.per_clutter.to_dict("records"):
            per[str(r["clutter"])] = {
                "n": int(r["n"]),
                "offset_db": num(r["offset_db"]),
                "slope_db_per_decade": num(r["slope_db_per_decade"]),
                "rmse_before_db": num(r["rmse_before_db"]),
                "rmse_after_db": num(r["rmse_after_db"]),
                "bias_before_db": num(r["bias_before_db"]),
                "bias_after_db": num(r["bias_after_db"]),
            }
        return {
            "method": (
                "per-clutter least squares of measured − predicted RSRP on log10(distance "
                f"km); RMSE on held-out villages, stratified {self.k}-fold cross-validation"
            ),
            "k": self.k,
            "seed": self.seed,
            "n_villages": self.n_villages,
            "n_unpredicted": self.n_unpredicted,
            "rmse_before_db": num(self.rmse_before_db),
            "rmse_after_db": num(self.rmse_after_db),
            "bias_before_db": num(self.bias_before_db),
            "bias_after_db": num(self.bias_after_db),
            "improves": self.improves,
            "clutter": per,
            "settings": {
                "clutter_offset_db": {c: num(v) for c, v in self.offset_db.items()},
                "clutter_slope_db_per_decade": {
                    c: num(v) for c, v in self.slope_db_per_decade.items()
                },
            },
        }


def _fit(
    r: FloatArray,
    x: FloatArray,
    *,
    fit_slope: bool,
    min_slope_villages: int,
    min_log_spread: float,
) -> tuple[float, float]:
    """(offset, slope) of ``r ≈ offset + slope·x`` (least squares); (0, 0) when empty."""
    if r.size == 0:
        return 0.0, 0.0
    if fit_slope and r.size >= min_slope_villages and float(np.std(x)) >= min_log_spread:
        xm = float(x.mean())
        rm = float(r.mean())
        dx = x - xm
        slope = float((dx * (r - rm)).sum() / (dx * dx).sum())
        return rm - slope * xm, slope
    return float(r.mean()), 0.0


def _folds(codes: npt.NDArray[np.int64], k: int, seed: int) -> npt.NDArray[np.int64]:
    """Fold of each village: stratified by clutter, each clutter's villages in a seeded
    random order dealt round-robin, continuing from where the previous clutter stopped
    (so fold sizes differ by at most one)."""
    rng = np.random.default_rng(seed)
    fold = np.empty(codes.size, dtype=np.int64)
    nxt = 0
    for c in range(len(ENVIRONMENTS)):
        members = np.flatnonzero(codes == c)
        if members.size == 0:
            continue
        perm = members[rng.permutation(members.size)]
        fold[perm] = (nxt + np.arange(members.size)) % k
        nxt = (nxt + members.size) % k
    return fold


def _rmse(e: FloatArray) -> float:
    return float(np.sqrt(np.mean(e * e))) if e.size else math.nan


def _mean(e: FloatArray) -> float:
    return float(np.mean(e)) if e.size else math.nan


def calibrate(
    assessed_villages: pd.DataFrame,
    *,
    k: int = 5,
    seed: int = 0,
    default_clutter: str = "open_rural",
    fit_slope: bool = True,
    min_slope_villages: int = MIN_SLOPE_VILLAGES,
    min_log_spread: float = MIN_LOG_SPREAD,
) -> CalibrationResult:
    """Fit per-clutter corrections to the measurements and cross-validate them.

    ``assessed_villages``: the villages of :func:`covgap.analysis.assess_villages`
    (``measured_rsrp_dbm``, ``predicted_rsrp_dbm``, ``predicted_distance_m``;
    ``clutter`` optional, empty → ``default_clutter``). ``k`` folds (2 ≤ k ≤ the
    number of compared villages), drawn from ``seed``. See the module docstring.
    Raises :class:`ScenarioError` for a bad ``k`` and :class:`SchemaError` when the
    columns are missing or a clutter is unknown.
    """
    need = ("measured_rsrp_dbm", "predicted_rsrp_dbm", "predicted_distance_m")
    missing = [c for c in need if c not in assessed_villages.columns]
    if missing:
        raise SchemaError(
            f"calibration: missing column(s) {', '.join(missing)}: pass the villages as "
            "assess_villages returns them",
            column=missing[0],
        )
    if default_clutter not in ENVIRONMENTS:
        raise ScenarioError(
            f"calibration: default_clutter = {default_clutter!r}: expected one of "
            f"{', '.join(ENVIRONMENTS)}"
        )
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 2:
        raise ScenarioError(f"calibration: k = {k!r}: expected an integer number of folds ≥ 2")
    k = int(k)

    def col(name: str) -> FloatArray:
        return np.asarray(
            pd.to_numeric(assessed_villages[name], errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan
            ),
            dtype=np.float64,
        )

    measured = col("measured_rsrp_dbm")
    predicted = col("predicted_rsrp_dbm")
    dist_m = col("predicted_distance_m")
    has_meas = np.isfinite(measured)
    use = has_meas & np.isfinite(predicted) & np.isfinite(dist_m)
    n_unpredicted = int((has_meas & ~use).sum())
    clutter: npt.NDArray[Any]
    if "clutter" in assessed_villages.columns:
        raw = assessed_villages["clutter"].astype(object)
        clutter = raw.where(raw.notna(), default_clutter).astype(str).to_numpy()
    else:
        clutter = np.full(len(assessed_villages), default_clutter, dtype=object)
    codes_all = np.asarray(pd.Index(list(ENVIRONMENTS)).get_indexer(pd.Index(clutter)))
    bad = use & (codes_all < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise SchemaError(
            f"calibration: clutter = {clutter[i]!r} is not one of {', '.join(ENVIRONMENTS)}",
            row=i + 1,
            column="clutter",
        )
    idx = np.flatnonzero(use)
    n = idx.size
    if n < k:
        raise ScenarioError(
            f"calibration: {n} measured village(s) with a predicted server, fewer than "
            f"k = {k} folds (and {n_unpredicted} measured without one): lower k (≥ 2) "
            "or add measurements"
        )
    codes = codes_all[idx].astype(np.int64)
    r = measured[idx] - predicted[idx]
    x = np.log10(np.maximum(dist_m[idx] / 1000.0, MIN_DISTANCE_KM))
    fold = _folds(codes, k, seed)

    def fit(sel: npt.NDArray[np.bool_]) -> tuple[float, float]:
        return _fit(
            r[sel],
            x[sel],
            fit_slope=fit_slope,
            min_slope_villages=min_slope_villages,
            min_log_spread=min_log_spread,
        )

    correction = np.zeros(n)
    for f in range(k):
        test = fold == f
        for c in range(len(ENVIRONMENTS)):
            train = ~test & (codes == c)
            target = test & (codes == c)
            if not target.any():
                continue
            a, b = fit(train)
            correction[target] = a + b * x[target]
    after = r - correction

    offset: dict[str, float] = {}
    slope: dict[str, float] = {}
    rows = []
    for c, name in enumerate(ENVIRONMENTS):
        sel = codes == c
        a, b = fit(sel)
        offset[name] = a
        slope[name] = b
        rows.append(
            {
                "clutter": name,
                "n": int(sel.sum()),
                "offset_db": a,
                "slope_db_per_decade": b,
                "rmse_before_db": _rmse(r[sel]),
                "rmse_after_db": _rmse(after[sel]),
                "bias_before_db": _mean(r[sel]),
                "bias_after_db": _mean(after[sel]),
            }
        )
    held = pd.DataFrame(
        {
            "row": idx.astype(np.int64),
            "clutter": pd.Series(np.asarray(ENVIRONMENTS, dtype=object)[codes], dtype="str"),
            "fold": fold,
            "distance_m": dist_m[idx],
            "measured_rsrp_dbm": measured[idx],
            "predicted_rsrp_dbm": predicted[idx],
            "corrected_rsrp_dbm": predicted[idx] + correction,
        }
    )
    if "village_id" in assessed_villages.columns:
        ids = assessed_villages["village_id"].astype(str).to_numpy()[idx]
        held.insert(0, "village_id", pd.Series(ids, dtype="str"))
    return CalibrationResult(
        offset_db=MappingProxyType(offset),
        slope_db_per_decade=MappingProxyType(slope),
        per_clutter=pd.DataFrame(rows),
        held_out=held,
        n_villages=n,
        n_unpredicted=n_unpredicted,
        k=k,
        seed=int(seed),
        rmse_before_db=_rmse(r),
        rmse_after_db=_rmse(after),
        bias_before_db=_mean(r),
        bias_after_db=_mean(after),
    )


__all__ = ["MIN_LOG_SPREAD", "MIN_SLOPE_VILLAGES", "CalibrationResult", "calibrate"]
