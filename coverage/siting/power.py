"""Power per candidate and deadline (layer 4, DESIGN §3): grid at once, grid on a village's
``power_eta``, a grid extension, solar + battery sized from the load, or a generator as the
last resort; each with its cost (VND), its ready date and its reason.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from ..calendar import WorkCalendar
from .settings import SitingSettings, _fmt_m, _vnd


@dataclass(frozen=True)
class _Power:
    power: str
    power_date: dt.date | None
    reason: str
    rule: str
    capex_vnd: float
    opex_vnd_per_year: float
    line_km: float
    pv_kwp: float
    battery_kwh: float


@dataclass(frozen=True)
class _PowerContext:
    host_site: str | None
    host_power: str | None
    near_elec: tuple[str, float] | None  # electrified village within grid reach
    near_eta: tuple[str, float, dt.date] | None  # village with power_eta within reach
    ext: tuple[str, float] | None  # nearest electrified village within extension max


def _solar_size(settings: SitingSettings) -> tuple[float, float, float]:
    """(PV kWp, battery kWh, capex VND) for the technology's load."""
    load_kw = float(settings.equipment_by_technology[settings.technology].load_kw)
    daily_kwh = load_kw * 24.0
    pv = daily_kwh / (settings.peak_sun_hours * settings.solar_system_efficiency)
    battery = daily_kwh * settings.battery_autonomy_days / settings.battery_depth_of_discharge
    capex = (
        float(settings.power_capex_vnd["solar"])
        + pv * settings.solar_pv_vnd_per_kwp
        + battery * settings.battery_vnd_per_kwh
    )
    return pv, battery, capex


class _Days:
    """Memoised working-day arithmetic over a :class:`WorkCalendar`."""

    def __init__(self, cal: WorkCalendar) -> None:
        self.cal = cal
        self.start = cal.start
        self._index: dict[tuple[dt.date, str], int] = {}
        self._date: dict[int, dt.date] = {}

    def index_of(self, day: dt.date, side: str) -> int:
        key = (day, side)
        if key not in self._index:
            self._index[key] = self.cal.index_of(day, side="after" if side == "after" else "before")
        return self._index[key]

    def date_of(self, index: int) -> dt.date:
        if index not in self._date:
            self._date[index] = self.cal.date_of(index)
        return self._date[index]


def _decide_power(
    ctx: _PowerContext, deadline: dt.date, settings: SitingSettings, cal: _Days | None = None
) -> _Power:
    """The power rules of the module docstring for one site location and deadline."""
    cal = cal if cal is not None else _Days(settings.calendar)
    years = int(settings.opex_years)
    tail = int(settings.power_tail_working_days)
    g_capex = float(settings.power_capex_vnd["grid"])
    g_opex = float(settings.power_opex_vnd_per_year["grid"])
    per_km = float(settings.grid_line_vnd_per_km)
    start = cal.start
    if ctx.host_power == "grid":
        return _Power(
            "grid",
            start,
            f"existing tower {ctx.host_site} on grid",
            "host_grid",
            g_capex,
            g_opex,
            0.0,
            0.0,
            0.0,
        )
    if ctx.near_elec is not None:
        vid, d = ctx.near_elec
        return _Power(
            "grid",
            start,
            f"electrified village within {_fmt_m(settings.grid_reach_m)} ({vid} at {d:.0f} m)",
            "grid_near",
            g_capex + per_km * d / 1000.0,
            g_opex,
            d / 1000.0,
            0.0,
            0.0,
        )
    latest = cal.index_of(deadline, side="before") - tail + 1
    options: list[tuple[float, int, _Power]] = []
    why: list[str] = []
    rule_no_grid = "solar_none"
    if ctx.near_eta is not None:
        vid, d, eta = ctx.near_eta
        where = "power_eta" if d < 1.0 else f"power_eta of {vid} at {d:.0f} m"
        if eta > deadline:
            why.append(f"power_eta {eta} after deadline {deadline}")
            rule_no_grid = "solar_after"
        elif cal.index_of(eta, side="after") > latest:
            why.append(
                f"power_eta {eta} leaves under {tail} working days before deadline "
                f"{deadline} (grid needed by {cal.date_of(latest)})"
            )
            rule_no_grid = "solar_close"
        else:
            capex = g_capex + per_km * d / 1000.0
            options.append(
                (
                    capex + years * g_opex,
                    0,
                    _Power(
                        "grid",
                        eta,
                        f"grid arrives {eta} ({where}) before deadline {deadline}",
                        "grid_eta",
                        capex,
                        g_opex,
                        d / 1000.0,
                        0.0,
                        0.0,
                    ),
                )
            )
    else:
        why.append(f"no power_eta within {_fmt_m(settings.grid_reach_m)}")
    if ctx.ext is not None:
        vid, d = ctx.ext
        km = d / 1000.0
        days = int(settings.grid_extension_days_fixed) + math.ceil(
            settings.grid_extension_days_per_km * km - 1e-9
        )
        ready = cal.date_of(days)
        if days > latest:
            why.append(
                f"a {km:.1f} km grid extension from {vid} would be ready {ready}, too late "
                f"for deadline {deadline}"
            )
        else:
            capex = g_capex + per_km * km
            options.append(
                (
                    capex + years * g_opex,
                    1,
                    _Power(
                        "grid",
                        ready,
                        f"grid extension {km:.1f} km from electrified village {vid}, ready "
                        f"{ready} before deadline {deadline}",
                        "grid_extension",
                        capex,
                        g_opex,
                        km,
                        0.0,
                        0.0,
                    ),
                )
            )
    else:
        why.append(f"no electrified village within {_fmt_m(settings.grid_extension_max_m)}")
    pv, battery, s_capex = _solar_size(settings)
    s_opex = float(settings.power_opex_vnd_per_year["solar"])
    solar_ok = pv <= settings.solar_max_kwp
    sizing = f"{pv:.1f} kWp PV, {battery:.0f} kWh battery"
    if solar_ok:
        options.append(
            (
                s_capex + years * s_opex,
                2,
                _Power("solar", None, "", rule_no_grid, s_capex, s_opex, 0.0, pv, battery),
            )
        )
    if options:
        life, _, best = min(options, key=lambda o: (o[0], o[1]))
        if best.power == "solar":
            grid_life = [o for o in options if o[2].power == "grid"]
            parts = list(why)
            rule = rule_no_grid
            for g_life, _, g in grid_life:
                parts.append(
                    f"{'grid from power_eta' if g.rule == 'grid_eta' else 'grid extension'} "
                    f"costs {_vnd(g_life)} over {years} years vs {_vnd(life)}"
                )
                rule = "solar_cost"
            return _Power(
                "solar",
                None,
                "; ".join(parts) + f": solar+battery ({sizing})",
                rule,
                s_capex,
                s_opex,
                0.0,
                pv,
                battery,
            )
        solar_life = [o for o in options if o[2].power == "solar"]
        reason = best.reason
        if best.rule == "grid_extension":
            cmp = f"{_vnd(life)} over {years} years"
            if solar_life:
                cmp += f" vs solar+battery {_vnd(solar_life[0][0])}"
            reason = f"{'; '.join(why)}; {reason}: {cmp}" if why else f"{reason}: {cmp}"
        return _Power(
            best.power,
            best.power_date,
            reason,
            best.rule,
            best.capex_vnd,
            best.opex_vnd_per_year,
            best.line_km,
            0.0,
            0.0,
        )
    gen_capex = float(settings.power_capex_vnd["generator"])
    gen_opex = float(settings.power_opex_vnd_per_year["generator"])
    return _Power(
        "generator",
        None,
        "; ".join(why)
        + f"; solar+battery would need {pv:.1f} kWp > solar_max_kwp {settings.solar_max_kwp:g}"
        ": generator (last resort)",
        "generator",
        gen_capex,
        gen_opex,
        0.0,
        0.0,
        0.0,
    )
