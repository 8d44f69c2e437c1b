"""Build scheduler: CP-SAT in lexicographic stages, plus a greedy yardstick (DESIGN §6).

Layers (PyJobShop style), one module each:

1. :mod:`.settings` — :class:`ScheduleSettings` (+ :class:`Crew`, :class:`TaskTemplate`,
   :class:`covgap.calendar.RainWindow`), the scenario's part, documented defaults;
2. :mod:`.problem` — :func:`build_problem` → :class:`ProblemData`: the sites turned into
   integer data on each region's tick axis (task chains, crew pools, release and deadline
   ticks, fixed work from a progress file); no solver objects. :mod:`.travel` holds the
   crew moves between sites;
3. :mod:`.model` — the CP-SAT model of one part, solved stage by stage by :mod:`.stages`
   from the plans of :mod:`.heuristics` and with the proven bounds of :mod:`.bounds`;
4. :mod:`.plan` — :func:`plan_builds` and :func:`greedy_schedule` (earliest deadline
   first with nearest-neighbour crew moves, on the same :class:`ProblemData`);
5. :mod:`.result` — :class:`ScheduleResult`: ``tasks`` (``schedule.csv``), ``sites``
   (``sites_schedule.csv``), status as data, objective terms and bounds, the greedy's
   figures, what moved since a previous plan, why sites are late and
   (:mod:`.extra`, :func:`least_extra_crews`) the least extra crews that would put them
   on time, a plain-text summary.

:func:`solve_rcpsp` (:mod:`.rcpsp`) runs the core model on PSPLIB instances.

The objective is lexicographic (most sites on time, then least total tardiness, then
least makespan), solved per independent part: with crews per operator × region, each
operator × region is a part, so the parts' optima add up to the whole's. Fewer late sites
come first, so a CP-SAT plan may have fewer late sites but more late days than the
greedy; both are printed.

Not modelled: exact crew routing on large pools (a circuit per unit only on pools of at
most ``route_max_visits`` visits; elsewhere the least-move relaxation plus the decoder);
costs of extra crews (every extra unit counts 1).
"""

from __future__ import annotations

from ..calendar import RainWindow
from .extra import least_extra_crews
from .model import STATUS_NAMES
from .plan import greedy_schedule, plan_builds
from .problem import ProblemData, SiteData, TaskData, build_problem, default_crews
from .rcpsp import solve_rcpsp
from .result import SITE_COLUMNS, TASK_COLUMNS, ExtraCrews, ScheduleResult
from .settings import (
    CREW_KINDS,
    DEFAULT_TASKS,
    PROGRESS_STATUSES,
    TASK_ORDER,
    Crew,
    ScheduleSettings,
    TaskTemplate,
)

__all__ = [
    "CREW_KINDS",
    "DEFAULT_TASKS",
    "PROGRESS_STATUSES",
    "SITE_COLUMNS",
    "STATUS_NAMES",
    "TASK_COLUMNS",
    "TASK_ORDER",
    "Crew",
    "ExtraCrews",
    "ProblemData",
    "RainWindow",
    "ScheduleResult",
    "ScheduleSettings",
    "SiteData",
    "TaskData",
    "TaskTemplate",
    "build_problem",
    "default_crews",
    "greedy_schedule",
    "least_extra_crews",
    "plan_builds",
    "solve_rcpsp",
]
