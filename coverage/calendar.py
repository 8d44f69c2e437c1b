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

Not built yet (a later scheduling issue): rain windows, i.e. per-region factors
that stretch task durations inside date windows (DESIGN §3 scenario "calendar").
Durations here are the same on every working day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_HOLIDAYS",
    "DEFAULT_PLANNING_START",
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
