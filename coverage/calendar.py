"""Working-day calendar: dates ↔ working-day indices (DESIGN §6).

The build scheduler counts time in *working days* from the planning start:
index 0 is the first working day on or after :attr:`WorkCalendar.start`, index 1
the next working day, and so on (negative indices are working days before the
start). A task of ``d`` working days starting at index ``s`` occupies indices
``s … s + d − 1``; its finish date is the last of them (inclusive).

Weekly days off (Sunday by default) and public holidays (2 Sep National Day:
2025-09-01 and 2025-09-02 by default) are never working days. The mapping is
numpy's business-day machinery (``np.busday_offset`` / ``np.busday_count``), so
the vectorised helpers cost one numpy call over any number of dates.

Rain windows (:class:`RainWindow`) slow work down inside date windows of a planning
region. The scheduler's finer clock, :class:`TickAxis`, splits every working day of one
region into *ticks* of work (``ticks_per_day`` on a normal day, ``round(ticks_per_day /
factor)`` inside a rain window, at least 1): a task needs a fixed number of ticks of
work, so inside a window it takes ``factor`` times as many working days. Every site and
crew of one part of the schedule (one operator × region) shares one axis.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_HOLIDAYS",
    "DEFAULT_PLANNING_START",
    "RainWindow",
    "TickAxis",
    "WorkCalendar",
    "to_date",
]

#: Planning start of the 2025 programme (a Tuesday).
DEFAULT_PLANNING_START = dt.date(2025, 7, 15)
#: National Day holidays 2025 (Mon 1 Sep and Tue 2 Sep).
DEFAULT_HOLIDAYS: tuple[dt.date, ...] = (dt.date(2025, 9, 1), dt.date(2025, 9, 2))

Side = Literal["after", "before"]


def to_date(value: Any) -> dt.date:
    """One date from a ``date``, ``datetime``, ``pd.Timestamp``, ``np.datetime64`` or
    ISO string (``YYYY-MM-DD``). The time of day, if any, is dropped.

    Raises ``ValueError`` for NaT / None / an unparseable value.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if value is None:
        raise ValueError("a date is required, got None")
    ts = pd.Timestamp(value)
    if pd.isna(ts):
        raise ValueError(f"a date is required, got {value!r}")
    return ts.date()


def _to_day_array(dates: Iterable[Any] | np.ndarray | pd.Series) -> np.ndarray:
    """``datetime64[D]`` array from anything pandas can read as dates (no NaT allowed)."""
    if not isinstance(dates, (np.ndarray, pd.Series, pd.Index, list, tuple)):
        dates = list(dates)
    arr = pd.to_datetime(pd.Series(dates))
    if arr.isna().any():
        raise ValueError("dates must not be missing (NaT)")
    return arr.to_numpy().astype("datetime64[D]")


@dataclass(frozen=True)
class WorkCalendar:
    """Working days of the build programme.

    start: planning start date; index 0 is the first working day on or after it.
    days_off_weekly: weekdays without work, Monday = 0 … Sunday = 6 (default Sunday).
    holidays: public holidays (no work); any order, duplicates ignored.
    horizon_days: calendar days after ``start`` (inclusive of ``start``) inside which
        the scheduler must fit every task; :attr:`horizon_index` is the number of
        working days in that window. Date ↔ index mapping itself is not bounded.
    """

    start: dt.date = DEFAULT_PLANNING_START
    days_off_weekly: tuple[int, ...] = (6,)
    holidays: tuple[dt.date, ...] = DEFAULT_HOLIDAYS
    horizon_days: int = 730

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", to_date(self.start))
        off = tuple(sorted({int(d) for d in self.days_off_weekly}))
        if any(d < 0 or d > 6 for d in off):
            raise ValueError(
                f"days_off_weekly must hold weekdays 0 (Monday) … 6 (Sunday), got {off}"
            )
        if len(off) == 7:
            raise ValueError("days_off_weekly leaves no working day in the week")
        object.__setattr__(self, "days_off_weekly", off)
        hol = tuple(sorted({to_date(h) for h in self.holidays}))
        object.__setattr__(self, "holidays", hol)
        if int(self.horizon_days) < 1:
            raise ValueError(f"horizon_days must be ≥ 1, got {self.horizon_days}")

    # ------------------------------------------------------------------ internals
    @cached_property
    def _busdaycal(self) -> np.busdaycalendar:
        weekmask = [0 if d in self.days_off_weekly else 1 for d in range(7)]
        return np.busdaycalendar(
            weekmask=weekmask,
            holidays=np.array([np.datetime64(h, "D") for h in self.holidays], dtype="M8[D]"),
        )

    @cached_property
    def _origin(self) -> np.datetime64:
        return np.busday_offset(
            np.datetime64(self.start, "D"), 0, roll="forward", busdaycal=self._busdaycal
        )

    # ------------------------------------------------------------------ scalars
    @property
    def first_working_day(self) -> dt.date:
        """The date of index 0 (the first working day on or after ``start``)."""
        return self._origin.astype(dt.date)  # type: ignore[no-any-return]

    @property
    def horizon_end(self) -> dt.date:
        """Last calendar day of the scheduling horizon (inclusive)."""
        return self.start + dt.timedelta(days=int(self.horizon_days) - 1)

    @property
    def horizon_index(self) -> int:
        """Number of working days in ``start … horizon_end``: valid task indices are
        ``0 … horizon_index − 1``."""
        return self.index_of(self.horizon_end, side="before") + 1

    def is_working_day(self, day: Any) -> bool:
        """True when ``day`` is neither a weekly day off nor a holiday."""
        return bool(np.is_busday(np.datetime64(to_date(day), "D"), busdaycal=self._busdaycal))

    def index_of(self, day: Any, side: Side = "after") -> int:
        """Working-day index of ``day``.

        A working day maps to its own index. A day off maps to the next working day
        (``side="after"``, the rule for release dates: work can start then) or to the
        previous one (``side="before"``, the rule for deadlines: the last day work
        can still finish). Dates before the start give negative indices.
        """
        return int(self.indices_of([to_date(day)], side=side)[0])

    def date_of(self, index: int) -> dt.date:
        """The working day with this index (inverse of :meth:`index_of`)."""
        return self.dates_of([int(index)])[0].astype(dt.date)  # type: ignore[no-any-return]

    def last_working_day_on_or_before(self, day: Any) -> dt.date:
        """``day`` itself when it is a working day, else the working day before it."""
        return np.busday_offset(  # type: ignore[no-any-return]
            np.datetime64(to_date(day), "D"), 0, roll="backward", busdaycal=self._busdaycal
        ).astype(dt.date)

    def next_working_day_on_or_after(self, day: Any) -> dt.date:
        """``day`` itself when it is a working day, else the working day after it."""
        return np.busday_offset(  # type: ignore[no-any-return]
            np.datetime64(to_date(day), "D"), 0, roll="forward", busdaycal=self._busdaycal
        ).astype(dt.date)

    # ------------------------------------------------------------------ vectorised
    def indices_of(self, dates: Iterable[Any], side: Side = "after") -> np.ndarray:
        """Vectorised :meth:`index_of`: ``int64`` array, one index per date (no NaT)."""
        if side not in ("after", "before"):
            raise ValueError(f"side must be 'after' or 'before', got {side!r}")
        days = _to_day_array(dates)
        roll: Literal["forward", "backward"] = "forward" if side == "after" else "backward"
        rolled = np.busday_offset(days, 0, roll=roll, busdaycal=self._busdaycal)
        return np.busday_count(self._origin, rolled, busdaycal=self._busdaycal).astype(np.int64)

    def dates_of(self, indices: Iterable[int]) -> np.ndarray:
        """Vectorised :meth:`date_of`: ``datetime64[D]`` array."""
        if not isinstance(indices, (np.ndarray, pd.Series, pd.Index, list, tuple)):
            indices = list(indices)
        idx = np.asarray(indices, dtype=np.int64)
        return np.busday_offset(self._origin, idx, roll="forward", busdaycal=self._busdaycal)

    def iso_dates_of(self, indices: Iterable[int]) -> list[str]:
        """``YYYY-MM-DD`` strings of the working days with these indices."""
        return [str(d) for d in self.dates_of(indices)]


@dataclass(frozen=True)
class RainWindow:
    """A rainy-season slow-down: inside ``start … end`` (inclusive dates) a working day in
    ``region`` does ``1 / factor`` of a normal day's work (``factor`` ≥ 1; 1.5 = tasks take
    half as long again). ``region`` is a planning region name, or ``"*"`` for every region.
    Overlapping windows of one region: the largest factor applies."""

    region: str
    start: dt.date
    end: dt.date
    factor: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", to_date(self.start))
        object.__setattr__(self, "end", to_date(self.end))
        if self.end < self.start:
            raise ValueError(
                f"rain window {self.region!r}: end {self.end} before start {self.start}"
            )
        if not (math.isfinite(float(self.factor)) and float(self.factor) >= 1.0):
            raise ValueError(
                f"rain window {self.region!r} {self.start}…{self.end}: factor must be ≥ 1, "
                f"got {self.factor}"
            )
        if not self.region:
            raise ValueError("rain window: region must be a region name or '*'")

    def applies_to(self, region: str) -> bool:
        """True when the window covers ``region``."""
        return self.region == "*" or self.region == region


class TickAxis:
    """The scheduler's clock for one region: working days split into ticks of work.

    Working day ``i`` (index of ``calendar``, 0 … ``calendar.horizon_index − 1``) holds
    ticks ``first_tick(i) … first_tick(i + 1) − 1``: ``ticks_per_day`` of them, or
    ``max(1, round(ticks_per_day / factor))`` inside a rain window. ``horizon`` is the
    number of ticks in the whole calendar horizon.
    """

    def __init__(
        self,
        calendar: WorkCalendar,
        ticks_per_day: int,
        rain_windows: Iterable[RainWindow] = (),
        region: str = "",
    ) -> None:
        if int(ticks_per_day) < 1:
            raise ValueError(f"ticks_per_day must be ≥ 1, got {ticks_per_day}")
        self.calendar = calendar
        self.ticks_per_day = int(ticks_per_day)
        self.region = region
        n = calendar.horizon_index
        per_day = np.full(n, self.ticks_per_day, dtype=np.int64)
        dates = calendar.dates_of(np.arange(n))
        factor = np.ones(n)
        for w in rain_windows:
            if not w.applies_to(region):
                continue
            inside = (dates >= np.datetime64(w.start, "D")) & (dates <= np.datetime64(w.end, "D"))
            factor = np.where(inside, np.maximum(factor, float(w.factor)), factor)
        slowed = factor > 1.0
        per_day[slowed] = np.maximum(1, np.rint(self.ticks_per_day / factor[slowed])).astype(
            np.int64
        )
        self.ticks_of_day = per_day
        self.day_factor = factor
        self._cum = np.concatenate([[0], np.cumsum(per_day)]).astype(np.int64)

    @property
    def horizon(self) -> int:
        """Ticks in the calendar horizon."""
        return int(self._cum[-1])

    @property
    def n_days(self) -> int:
        """Working days in the calendar horizon."""
        return len(self.ticks_of_day)

    def first_tick(self, index: int) -> int:
        """First tick of working day ``index`` (clamped to ``0 … n_days``)."""
        return int(self._cum[min(max(int(index), 0), self.n_days)])

    def day_of_tick(self, tick: int) -> int:
        """Working-day index holding ``tick`` (ticks ≥ horizon map past the last day)."""
        t = int(tick)
        if t >= self.horizon:
            return self.n_days - 1 + (t - self.horizon) // self.ticks_per_day + 1
        return int(np.searchsorted(self._cum, t, side="right")) - 1

    def days_of_ticks(self, ticks: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`day_of_tick` for ticks inside the horizon."""
        return np.searchsorted(self._cum, np.asarray(ticks, dtype=np.int64), side="right") - 1

    def rainy_days(self) -> int:
        """Working days slowed by a rain window."""
        return int((self.day_factor > 1.0).sum())
