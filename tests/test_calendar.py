"""Working-day calendar: known answers read off the 2025 calendar by hand.

2025-07-15 is a Tuesday; Sundays: 20, 27 Jul; 3, 10, 17, 24, 31 Aug; 7 Sep; 23, 30 Nov.
Working days 15–31 Jul: 17 − 2 Sundays = 15 (indices 0–14); 1–30 Aug: 30 − 4 = 26
(indices 15–40); 1–2 Sep are the National Day holidays, so 3 Sep is index 41.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from covgap.calendar import WorkCalendar

D = dt.date


def test_index_zero_is_the_planning_start() -> None:
    cal = WorkCalendar()
    assert cal.start == D(2025, 7, 15)
    assert cal.first_working_day == D(2025, 7, 15)
    assert cal.index_of(D(2025, 7, 15)) == 0
    assert cal.date_of(0) == D(2025, 7, 15)


def test_sunday_rolls_forward_or_backward() -> None:
    cal = WorkCalendar()
    # Sat 19 Jul = index 4, Sun 20 Jul off, Mon 21 Jul = index 5.
    assert cal.index_of(D(2025, 7, 19)) == 4
    assert cal.index_of(D(2025, 7, 20), side="after") == 5
    assert cal.index_of(D(2025, 7, 20), side="before") == 4
    assert not cal.is_working_day(D(2025, 7, 20))
    assert cal.is_working_day(D(2025, 7, 19))


def test_august_deadline_is_saturday_30_index_40() -> None:
    cal = WorkCalendar()
    assert cal.last_working_day_on_or_before(D(2025, 8, 31)) == D(2025, 8, 30)
    assert cal.index_of(D(2025, 8, 31), side="before") == 40
    assert cal.index_of("2025-08-30") == 40


def test_national_day_holidays_are_skipped() -> None:
    cal = WorkCalendar()
    assert not cal.is_working_day(D(2025, 9, 1))
    assert not cal.is_working_day(D(2025, 9, 2))
    assert cal.date_of(41) == D(2025, 9, 3)
    assert cal.index_of(D(2025, 9, 1), side="after") == 41
    assert cal.index_of(D(2025, 9, 2), side="before") == 40
    assert cal.next_working_day_on_or_after(D(2025, 8, 31)) == D(2025, 9, 3)


def test_november_deadline() -> None:
    cal = WorkCalendar()
    assert cal.last_working_day_on_or_before(D(2025, 11, 30)) == D(2025, 11, 29)


def test_dates_before_the_start_have_negative_indices() -> None:
    cal = WorkCalendar()
    assert cal.date_of(-1) == D(2025, 7, 14)  # Monday
    assert cal.index_of(D(2025, 7, 13), side="before") == -2  # Sun → Sat 12 Jul
    assert cal.index_of(D(2025, 7, 13), side="after") == -1  # Sun → Mon 14 Jul


def test_round_trip_and_vectorised_helpers_agree() -> None:
    cal = WorkCalendar()
    idx = np.arange(-10, 200)
    dates = cal.dates_of(idx)
    for i, d in zip(idx, dates, strict=True):
        day = d.astype(dt.date)
        assert day.weekday() != 6
        assert day not in (D(2025, 9, 1), D(2025, 9, 2))
        assert cal.date_of(int(i)) == day
        assert cal.index_of(day) == i
    np.testing.assert_array_equal(cal.indices_of(dates), idx)
    series = pd.Series(pd.to_datetime(["2025-09-01", "2025-08-31"])).astype("datetime64[s]")
    assert list(cal.indices_of(series, side="before")) == [40, 40]
    assert cal.iso_dates_of([0, 41]) == ["2025-07-15", "2025-09-03"]


def test_start_on_a_day_off_and_custom_week() -> None:
    cal = WorkCalendar(start=D(2025, 7, 13), days_off_weekly=(5, 6), holidays=())
    # Sun 13 Jul → Mon 14 Jul; Saturdays off too: Fri 18 Jul = 4, Mon 21 Jul = 5.
    assert cal.first_working_day == D(2025, 7, 14)
    assert cal.date_of(4) == D(2025, 7, 18)
    assert cal.date_of(5) == D(2025, 7, 21)
    assert cal.index_of(D(2025, 7, 19), side="before") == 4


def test_horizon_index_counts_working_days() -> None:
    # 15–21 Jul: Tue…Sat (5 days) + Mon 21 (Sun 20 off) = 6 working days.
    cal = WorkCalendar(horizon_days=7)
    assert cal.horizon_end == D(2025, 7, 21)
    assert cal.horizon_index == 6


def test_invalid_calendars_are_refused() -> None:
    with pytest.raises(ValueError, match="no working day"):
        WorkCalendar(days_off_weekly=tuple(range(7)))
    with pytest.raises(ValueError, match="weekdays"):
        WorkCalendar(days_off_weekly=(7,))
    with pytest.raises(ValueError, match="horizon_days"):
        WorkCalendar(horizon_days=0)
    with pytest.raises(ValueError, match="side"):
        WorkCalendar().index_of(D(2025, 7, 15), side="nearest")  # type: ignore[arg-type]


def test_tick_axis_without_rain_is_the_working_days_times_ticks() -> None:
    from covgap.calendar import TickAxis

    cal = WorkCalendar()
    axis = TickAxis(cal, 4)
    assert axis.n_days == cal.horizon_index
    assert axis.horizon == 4 * cal.horizon_index
    assert axis.first_tick(41) == 164  # Wed 3 Sep
    assert axis.day_of_tick(163) == 40 and axis.day_of_tick(164) == 41
    assert axis.rainy_days() == 0


def test_rain_window_gives_fewer_ticks_per_day_in_its_region_only() -> None:
    from covgap.calendar import RainWindow, TickAxis

    cal = WorkCalendar()
    # 15–19 Jul (Tue–Sat, 5 working days) at factor 1.5: round(4 / 1.5) = 3 ticks a day.
    window = RainWindow("Northwest", D(2025, 7, 15), D(2025, 7, 19), 1.5)
    axis = TickAxis(cal, 4, [window], region="Northwest")
    assert axis.first_tick(5) == 15  # Mon 21 Jul starts after 5 × 3 ticks
    assert axis.day_of_tick(14) == 4 and axis.day_of_tick(15) == 5
    assert axis.rainy_days() == 5
    assert TickAxis(cal, 4, [window], region="Mekong Delta").first_tick(5) == 20
    assert (
        TickAxis(cal, 4, [RainWindow("*", D(2025, 7, 15), D(2025, 7, 15), 4.0)]).first_tick(1) == 1
    )
    with pytest.raises(ValueError, match="factor"):
        RainWindow("Northwest", D(2025, 7, 15), D(2025, 7, 19), 0.5)
    with pytest.raises(ValueError, match="before start"):
        RainWindow("Northwest", D(2025, 7, 19), D(2025, 7, 15), 1.5)
