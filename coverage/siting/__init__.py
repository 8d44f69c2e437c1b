"""Site planning: least-cost sites covering the gap villages, with power and backhaul (DESIGN §5).

The stage, in layers (data in, data out; no file I/O; EPSG:4326 in and out):

1. **Candidates.** Three kinds, all carrying the equipment of ``technology``
   (:class:`Equipment`: band, bandwidth, EIRP, omni — the sectors of a coverage
   site are aimed at the villages it serves — and electrical load):

   * ``new`` sites at every gap village, and around it: the ``high_ground_points``
     highest DEM cells within ``high_ground_radius_m`` that rise at least
     ``high_ground_min_rise_m`` above the village (when a DEM covers it), else a ring of
     ``ring_points`` points at ``ring_radius_m`` (azimuths from north, geodesic);
   * ``upgrade`` of an existing active tower site within ``tower_search_radius_m`` of
     a gap village: its own operator adds the equipment at the site's antenna height;
   * ``colocation`` on such a site by another operator, ``colocation_height_offset_m``
     below the top antennas, when the tower has structural headroom. Towers carry no
     such column in the data contract: ``colocation_headroom`` (default True: rural
     towers in Vietnam are mostly self-supporting lattice towers with room for a
     second tenant) applies to every tower, and an optional towers column
     ``colocation_headroom`` (bool) overrides it per site (any row False → no room).

   Candidates inside ``excluded`` polygons are dropped (existing towers too when
   ``exclude_existing_in_areas``).
2. **Coverage matrix** — :func:`covgap.analysis.coverage_matrix`, the engine of the
   analysis stage (same settings, ``settings.analysis``; terrain-aware over the DEM
   with the ``auto`` model): a candidate covers a gap village when its RSRP there is at
   or above the threshold.
3. **Operators.** ``operator_mode = "per_operator"``: a village with an
   ``assigned_operator`` can only be served by that operator's site; an unassigned
   village by anyone. A location gets a candidate for each operator it could serve
   for: the assigned operators of the gap villages it covers and the preferred operator
   of the unassigned ones (assigned; else the strongest existing signal; else
   ``default_operator``). ``"shared"``: one network for everyone (neutral host /
   national roaming): assignments are not enforced, a new site belongs to the
   preferred operator of its village, no co-location candidates.
4. **Power** (DESIGN §3, per candidate and deadline): (1) an existing tower on grid →
   grid at once; (2) an electrified village within ``grid_reach_m`` → grid at once
   (plus the line); otherwise the cheapest, over ``opex_years``, of those that are
   ready in time for the deadline (the power-dependent tail of ``power_tail_working_days``
   must fit before the last working day on or before it): (3a) grid from the
   ``power_eta`` of the nearest village within ``grid_reach_m`` that has one, (3b) a grid
   extension from the nearest electrified village within ``grid_extension_max_m``
   (``grid_extension_days_fixed`` + ``grid_extension_days_per_km`` × km working days from
   the planning start), (3c) solar + battery sized from the daily load (``load_kw``×24
   h), ``peak_sun_hours``, ``solar_system_efficiency``, ``battery_autonomy_days`` and
   ``battery_depth_of_discharge``, costed per kWp and kWh; (4) a generator only as the
   last resort, when solar would need more than ``solar_max_kwp``. Site power date: the
   planning start (1, 2), the ``power_eta`` (3a), the extension's ready day (3b), none
   (solar, generator). The "nearest village it serves" of DESIGN §3 is read as the
   nearest village with a ``power_eta`` within ``grid_reach_m`` of the site (for a site
   at a village, that village): farther grid is an extension, costed as such, so the
   cost of a candidate does not depend on the rest of the plan.
5. **Backhaul** — :func:`covgap.network.plan_backhaul` per candidate location (fibre
   on a fibre site or a short spur, microwave hops to a fibre PoP through existing
   towers, else LEO/VSAT). New sites do not relay for each other, again so that a
   candidate's cost is its own.
6. **Selection** (CP-SAT): one 0/1 variable per candidate and *deadline variant* — a
   candidate serving an electrified (August) gap village is costed with power planned
   for 31 Aug, one serving only unelectrified villages for 30 Nov (only the variants that
   differ are kept; a powered village can only be served by an August variant).
   Minimise Σ (capex + ``opex_years`` × opex) so that every coverable gap village is
   covered (hard), at most one variant per candidate; or, with ``budget_vnd`` (capex),
   maximise the population newly covered, then the cost at that population. Options:
   ``one_new_site_per_commune`` (per operator), ``required_sites``. When the options make
   the hard cover infeasible, the villages that cannot be covered under them are found
   by a second solve with a penalty per uncovered village and listed with the reason.
   Status, objective, bound and gap are reported; a greedy set cover (cost per newly
   covered village) runs on the same data and its cost is reported beside. Costs enter
   the solver in whole thousands of VND (the bound is converted back; rounding ≤ 500
   VND per site). Before solving, dominated candidates (another covers all their
   villages for no more cost, and capex with a budget) are dropped — exact for set
   cover — and the min-cost cover is solved per independent part (villages linked by a
   shared candidate); clauses enter the LP relaxation (``linearization_level`` 2), which
   is what proves set-cover optima. Deterministic: fixed seed, deterministic time limit,
   one worker by default (``interleave_search`` with several).
7. **Serving.** Each covered gap village is served by the selected eligible site with
   the strongest RSRP there (ties: smallest ``site_id``); a site's deadline is the
   earliest of its served villages' (DESIGN §3), and an August variant left serving no
   electrified village is swapped for its cheaper November variant.

Not modelled: new sites relaying each other's backhaul or sharing one new tower
between operators; interference and capacity; discounting of opex.

Modules: :mod:`.settings`, :mod:`.villages` (input checks, preferred operators),
:mod:`.candidates` (1), :mod:`.power` (4), :mod:`.select` (6), :mod:`.result`
(:class:`SitePlan`, summary) and :mod:`.plan` (:func:`plan_sites`, every layer in order).
"""

from __future__ import annotations

from .plan import plan_sites
from .result import (
    CANDIDATE_COLUMNS,
    COST_BY_PROVINCE_COLUMNS,
    COVERAGE_COLUMNS,
    SITE_COLUMNS,
    UNCOVERABLE_COLUMNS,
    SitePlan,
)
from .settings import GROUPS, KINDS, OPERATOR_MODES, POWER_OPTIONS, Equipment, SitingSettings

__all__ = [
    "CANDIDATE_COLUMNS",
    "COST_BY_PROVINCE_COLUMNS",
    "COVERAGE_COLUMNS",
    "GROUPS",
    "KINDS",
    "OPERATOR_MODES",
    "POWER_OPTIONS",
    "SITE_COLUMNS",
    "UNCOVERABLE_COLUMNS",
    "Equipment",
    "SitePlan",
    "SitingSettings",
    "plan_sites",
]
