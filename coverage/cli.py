"""The ``covgap`` command line (typer).

Every sub-command is a thin wrapper over a stage of :mod:`covgap.pipeline`.
Exit codes (DESIGN §2): 0 success (warnings and rejects allowed); 1 a requirement
the user asked to enforce is broken (``--strict``, ``--fail-on-late``) or a solver
found no solution; 2 bad input or usage (one line ``error: …``); 3 internal error
(one line plus the path of a log holding the traceback).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from . import __version__
from .errors import CovgapError

app = typer.Typer(
    name="covgap",
    help=(
        "Mobile-coverage gap planning: find low-signal villages (split by electricity), "
        "plan sites, schedule builds against the deadlines, map and export."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out_console = Console(highlight=False, soft_wrap=True, emoji=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)
_state: dict[str, bool] = {"debug": False}

T = TypeVar("T")

ScenarioOpt = Annotated[
    Path | None,
    typer.Option("--scenario", "-s", help="Scenario TOML (inputs and settings).", dir_okay=False),
]
VillagesOpt = Annotated[
    Path | None, typer.Option("--villages", help="Villages file (overrides the scenario).")
]
TowersOpt = Annotated[
    Path | None, typer.Option("--towers", help="Towers file (overrides the scenario).")
]
BoundariesOpt = Annotated[
    Path | None,
    typer.Option("--boundaries", help="Province boundaries (GeoJSON/GPKG) for checks and maps."),
]
CrsOpt = Annotated[
    str | None,
    typer.Option("--crs", help="CRS of CSV coordinates when not EPSG:4326 lon/lat (EPSG:3405…)."),
]
VillagesCrsOpt = Annotated[
    str | None,
    typer.Option("--villages-crs", help="CRS of the villages' CSV coordinates (overrides --crs)."),
]
TowersCrsOpt = Annotated[
    str | None,
    typer.Option("--towers-crs", help="CRS of the towers' CSV coordinates (overrides --crs)."),
]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Output folder.")]
MapsOpt = Annotated[Path, typer.Option("--maps", help="Folder for the HTML maps.")]
DemOpt = Annotated[
    Path | None, typer.Option("--dem", help="DEM GeoTIFF for terrain-aware paths (ITM).")
]
ExcludedOpt = Annotated[
    Path | None,
    typer.Option("--excluded", help="Polygons where no new site may be built (any format)."),
]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        help="Path-loss model: auto, hata, cost231, rma, fspl, itm, knife_edge, ehata.",
    ),
]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Exit 1 when any input row is rejected.")]


def _version(value: bool) -> None:
    if value:
        out_console.print(f"covgap {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    _state["debug"] = debug
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(message)s")


def _scenario(
    scenario: Path | None,
    *,
    villages: Path | None = None,
    towers: Path | None = None,
    boundaries: Path | None = None,
    crs: str | None = None,
    villages_crs: str | None = None,
    towers_crs: str | None = None,
    dem: Path | None = None,
    model: str | None = None,
    excluded: Path | None = None,
) -> Any:
    from .scenario import load_scenario

    sc = load_scenario(scenario)
    changes: dict[str, Any] = {}
    if villages is not None:
        changes["villages"] = villages
    if towers is not None:
        changes["towers"] = towers
    if boundaries is not None:
        changes["boundaries"] = boundaries
    if crs is not None:
        changes["crs"] = crs
    if villages_crs is not None:
        changes["villages_crs"] = villages_crs
    if towers_crs is not None:
        changes["towers_crs"] = towers_crs
    if dem is not None:
        changes["dem"] = dem
    if excluded is not None:
        changes["excluded"] = excluded
    if changes:
        sc = dataclasses.replace(sc, inputs=dataclasses.replace(sc.inputs, **changes))
    if model is not None:
        from .errors import UsageError

        try:
            analysis = dataclasses.replace(sc.analysis, model=model)
        except (ValueError, CovgapError) as exc:
            raise UsageError(f"--model {model}: {exc}") from None
        sc = dataclasses.replace(sc, analysis=analysis)
    return sc


def _print_notes(lines: list[str]) -> None:
    for line in lines:
        err_console.print(f"[yellow]note:[/] {escape(line)}")


def _print_load_summary(loaded: Any) -> None:
    table = Table(title="Inputs", show_lines=False)
    for col in ("file", "rows read", "accepted", "rejected", "warnings"):
        table.add_column(col, justify="right" if col != "file" else "left")
    for res in (loaded.villages, loaded.towers):
        table.add_row(
            escape(str(res.path)),
            str(res.n_read),
            str(len(res.gdf)),
            str(len(res.rejects)),
            str(len(res.warnings)),
        )
    out_console.print(table)
    warnings = loaded.warnings
    for w in warnings[:20]:
        err_console.print(f"[yellow]warning:[/] {escape(w)}")
    if len(warnings) > 20:
        err_console.print(f"[yellow]warning:[/] … and {len(warnings) - 20} more")
    for r in loaded.rejects[:10]:
        err_console.print(f"[red]rejected:[/] {escape(r.line())}")
    if len(loaded.rejects) > 10:
        err_console.print(f"[red]rejected:[/] … and {len(loaded.rejects) - 10} more")


def _print_assessment(assessment: Any) -> None:
    v = assessment.villages
    counts = v["group"].value_counts()
    table = Table(title="Coverage")
    table.add_column("group")
    table.add_column("villages", justify="right")
    table.add_column("population", justify="right")
    for group, label in (
        ("covered", "covered"),
        ("low_signal_powered", "low signal, with electricity"),
        ("low_signal_unpowered", "low signal, without electricity"),
    ):
        pop = int(v.loc[v["group"] == group, "population"].sum())
        table.add_row(label, str(int(counts.get(group, 0))), f"{pop:,}")
    out_console.print(table)
    out_console.print(
        f"sector–village pairs evaluated: {assessment.n_pairs:,}; "
        f"outside their model's range (extrapolated): {assessment.extrapolated_share:.1%}"
    )
    if assessment.terrain_model:
        out_console.print(
            f"terrain ({assessment.terrain_model}): {assessment.n_pairs_terrain:,} pairs; "
            f"terrain-free fallback (outside the DEM): {assessment.n_pairs_fallback:,} pairs"
        )


def _guard(fn: Callable[[], T]) -> T:
    """Run ``fn``; turn covgap errors into one line + exit code, bugs into exit 3."""
    try:
        return fn()
    except CovgapError as exc:
        if _state["debug"]:
            traceback.print_exc()
        err_console.print(exc.line(), markup=False)
        raise typer.Exit(exc.exit_code) from None
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except Exception as exc:
        _internal_error(exc)
        raise typer.Exit(3) from None


def _internal_error(exc: BaseException) -> None:
    """Write the traceback to a private log file and print one line naming it."""
    log_dir = Path(tempfile.gettempdir()) / f"covgap-logs-{os.getuid()}"
    log_dir.mkdir(mode=0o700, exist_ok=True)
    if log_dir.is_symlink() or log_dir.stat().st_uid != os.getuid():
        log_dir = Path(tempfile.mkdtemp(prefix="covgap-logs-"))
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    fd, name = tempfile.mkstemp(prefix=f"covgap-{stamp}-", suffix=".log", dir=log_dir)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("".join(traceback.format_exception(exc)))
    if _state["debug"]:
        traceback.print_exception(exc)
    err_console.print(
        f"error: internal error (a bug in covgap): {type(exc).__name__}: {exc}; "
        f"traceback in {name}",
        markup=False,
    )


@app.command()
def validate(
    scenario: ScenarioOpt = None,
    villages: VillagesOpt = None,
    towers: TowersOpt = None,
    boundaries: BoundariesOpt = None,
    crs: CrsOpt = None,
    villages_crs: VillagesCrsOpt = None,
    towers_crs: TowersCrsOpt = None,
    out: OutOpt = Path("out"),
    strict: StrictOpt = False,
) -> None:
    """Load and validate villages and towers; write out/rejects.csv."""
    from .pipeline import Notes, stage_load, write_rejects

    def body() -> None:
        sc = _scenario(
            scenario,
            villages=villages,
            towers=towers,
            boundaries=boundaries,
            crs=crs,
            villages_crs=villages_crs,
            towers_crs=towers_crs,
        )
        notes = Notes()
        loaded = stage_load(sc, notes)
        _print_load_summary(loaded)
        path = write_rejects(loaded, out, strict=strict)
        _print_notes(notes.lines)
        out_console.print(f"rejects: {path} ({len(loaded.rejects)} rows)")

    _guard(body)


@app.command()
def analyse(
    scenario: ScenarioOpt = None,
    villages: VillagesOpt = None,
    towers: TowersOpt = None,
    boundaries: BoundariesOpt = None,
    crs: CrsOpt = None,
    villages_crs: VillagesCrsOpt = None,
    towers_crs: TowersCrsOpt = None,
    dem: DemOpt = None,
    model: ModelOpt = None,
    out: OutOpt = Path("out"),
    strict: StrictOpt = False,
    calibrate: Annotated[
        bool,
        typer.Option(
            "--calibrate",
            help="Fit per-clutter corrections to the measured villages and report the RMSE "
            "before/after on held-out folds (calibration.json); settings are not changed.",
        ),
    ] = False,
    folds: Annotated[int, typer.Option("--folds", help="Folds for --calibrate.", min=2)] = 5,
    engine: Annotated[
        str,
        typer.Option(
            "--engine", help="memory (one machine) or dask (spatial partitions, same results)."
        ),
    ] = "memory",
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Dask scheduler address (default: a LocalCluster)."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="LocalCluster workers (dask engine).", min=1)
    ] = None,
) -> None:
    """Predict signal at each village (best server), flag low-signal villages by
    electricity, write villages_assessed.gpkg and summaries by province and commune."""
    from .pipeline import Notes, stage_analyse, stage_calibrate, stage_load, write_rejects

    def body() -> None:
        sc = _scenario(
            scenario,
            villages=villages,
            towers=towers,
            boundaries=boundaries,
            crs=crs,
            villages_crs=villages_crs,
            towers_crs=towers_crs,
            dem=dem,
            model=model,
        )
        notes = Notes()
        loaded = stage_load(sc, notes)
        _print_load_summary(loaded)
        write_rejects(loaded, out, strict=strict)
        analysed = stage_analyse(
            loaded, sc, out, engine=engine, scheduler=scheduler, workers=workers
        )
        _print_assessment(analysed.assessment)
        _print_notes(notes.lines)
        out_console.print(f"written: {out / 'villages_assessed.gpkg'}, summaries in {out}")
        if calibrate:
            cal = stage_calibrate(analysed.assessment, sc, out, folds=folds)
            facts = cal.to_dict()
            out_console.print(
                f"calibration ({folds}-fold, held out): RMSE {facts['rmse_before_db']} dB → "
                f"{facts['rmse_after_db']} dB over {facts['n_villages']} measured villages; "
                f"improves: {facts['improves']}; written: {out / 'calibration.json'} "
                "(copy its settings into [analysis] to use them)",
                markup=False,
            )

    _guard(body)


@app.command()
def sites(
    scenario: ScenarioOpt = None,
    assessed: Annotated[
        Path, typer.Option("--assessed", help="villages_assessed.gpkg from `covgap analyse`.")
    ] = Path("out/villages_assessed.gpkg"),
    towers: TowersOpt = None,
    crs: CrsOpt = None,
    towers_crs: TowersCrsOpt = None,
    dem: DemOpt = None,
    excluded: ExcludedOpt = None,
    out: OutOpt = Path("out"),
) -> None:
    """Plan sites for the low-signal villages (least cost, with power and backhaul);
    write sites.gpkg."""
    from .io import load_towers
    from .pipeline import Notes, open_optional_dem, read_assessed, stage_sites

    def body() -> None:
        sc = _scenario(
            scenario, towers=towers, crs=crs, towers_crs=towers_crs, dem=dem, excluded=excluded
        )
        if sc.inputs.towers is None:
            raise_usage("no towers file: pass --towers or set [inputs] towers")
        notes = Notes()
        dem_handle = open_optional_dem(sc.inputs.dem, sc, notes)
        villages_gdf = read_assessed(assessed)
        towers_res = load_towers(
            sc.inputs.towers, crs=sc.inputs.towers_crs_effective, layer=sc.inputs.towers_layer
        )
        plan = stage_sites(villages_gdf, towers_res.gdf, sc, out, dem=dem_handle)
        _print_notes(notes.lines)
        out_console.print(plan.summary, markup=False)
        out_console.print(f"written: {out / 'sites.gpkg'} (sites, links), cost_by_province.csv")

    _guard(body)


def raise_usage(message: str) -> None:
    from .errors import UsageError

    raise UsageError(message)


@app.command()
def schedule(
    scenario: ScenarioOpt = None,
    sites_file: Annotated[
        Path, typer.Option("--sites", help="sites.gpkg from `covgap sites`.")
    ] = Path("out/sites.gpkg"),
    problem: Annotated[
        Path | None,
        typer.Option(
            "--problem",
            help="A stand-alone problem.json (sites, crews, calendar, deadlines; JSON Schema "
            "in the package) instead of --sites and the scenario.",
        ),
    ] = None,
    progress: Annotated[
        Path | None,
        typer.Option(
            "--progress",
            help="progress.csv (site_id, task, status done/started, dates): re-plan keeping "
            "what has started or finished.",
        ),
    ] = None,
    previous: Annotated[
        Path | None,
        typer.Option(
            "--previous",
            help="The previous schedule.csv to warm-start from and compare with "
            "(default with --progress: <out>/schedule.csv if present).",
        ),
    ] = None,
    out: OutOpt = Path("out"),
    time_limit: Annotated[
        float | None,
        typer.Option("--time-limit", help="CP-SAT deterministic time limit (work units)."),
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Solver seed.")] = None,
    fail_on_late: Annotated[
        bool, typer.Option("--fail-on-late", help="Exit 1 when any site is late.")
    ] = False,
) -> None:
    """Schedule the builds with OR-Tools CP-SAT against the deadlines (crews, travel,
    power dates, calendar); write schedule.csv, sites_schedule.csv, problem.json,
    crew_utilisation.csv, gantt.html, and infeasibility.json (late sites, why, and the
    least extra crews) when a deadline cannot be met."""
    from .errors import RequirementError
    from .pipeline import read_sites, stage_schedule
    from .schedule_io import read_previous_schedule, read_problem, read_progress

    def body() -> None:
        sc = _scenario(scenario)
        if problem is not None:
            sites_df, settings = read_problem(problem)
        else:
            sites_df, settings = read_sites(sites_file), sc.schedule
        changes: dict[str, Any] = {}
        if time_limit is not None:
            changes["max_deterministic_time"] = time_limit
        if seed is not None:
            changes["seed"] = seed
        if changes:
            settings = dataclasses.replace(settings, **changes)
        progress_df = read_progress(progress, sites_df, settings) if progress else None
        prev_path = previous
        if prev_path is None and progress is not None and (out / "schedule.csv").exists():
            prev_path = out / "schedule.csv"
        previous_df = read_previous_schedule(prev_path) if prev_path is not None else None
        result = stage_schedule(
            sites_df, sc, out, settings=settings, progress=progress_df, previous=previous_df
        )
        _print_schedule(result)
        if result.moved is not None:
            out_console.print(f"re-plan: {len(result.moved)} tasks moved (see {out / 'moved.csv'})")
        if fail_on_late and result.n_late:
            raise RequirementError(f"{result.n_late} sites late (--fail-on-late)")

    _guard(body)


def _print_schedule(result: Any) -> None:
    out_console.print(
        f"schedule: status {result.status}, {result.n_late} site"
        f"{'' if result.n_late == 1 else 's'} late ({result.total_late_days} late "
        f"day{'' if result.total_late_days == 1 else 's'}), solved in {result.runtime_s:.1f} s"
    )
    summary, extra = result.summary, result.explanation
    if extra is None or not len(extra.extra) or not summary.endswith(extra.summary):
        out_console.print(summary, markup=False)
        return
    # The extra units per pool as a table, not a sentence (infeasibility.json has both).
    out_console.print(summary[: len(summary) - len(extra.summary)] + extra.headline, markup=False)
    # NOT_FOUND: the headline names the parts no count fixed; the table is the others.
    where = "Elsewhere" if extra.status == "NOT_FOUND" else "Least extra crews"
    _print_extra_crews(extra.extra, title=f"{where}: units to add")


def _print_extra_crews(extra: Any, *, title: str) -> None:
    """Extra crew units to add per operator × region (rows) and crew kind (columns); the
    units each pool has now are in infeasibility.json and the report."""
    from rich import box

    from .schedule import CREW_KINDS

    kinds = [k for k in CREW_KINDS if k in set(extra["kind"])]
    kinds += sorted(set(extra["kind"]) - set(kinds))
    table = Table(title=title, box=box.SIMPLE)
    for col in ("operator", "region", *kinds, "in all"):
        left = col in ("operator", "region")
        table.add_column(col, justify="left" if left else "right", no_wrap=left)
    for (operator, region), rows in extra.groupby(["operator", "region"], sort=True):
        cells = {r.kind: f"+{r.extra_units}" for r in rows.itertuples()}
        table.add_row(
            escape(str(operator)),
            escape(str(region)),
            *(cells.get(k, "") for k in kinds),
            str(int(rows["extra_units"].sum())),
        )
    out_console.print(table)


@app.command("map")
def map_(
    scenario: ScenarioOpt = None,
    assessed: Annotated[Path, typer.Option("--assessed")] = Path("out/villages_assessed.gpkg"),
    sites_file: Annotated[Path, typer.Option("--sites")] = Path("out/sites.gpkg"),
    site_schedule: Annotated[Path, typer.Option("--site-schedule")] = Path(
        "out/sites_schedule.csv"
    ),
    towers: TowersOpt = None,
    boundaries: BoundariesOpt = None,
    crs: CrsOpt = None,
    towers_crs: TowersCrsOpt = None,
    maps: MapsOpt = Path("maps"),
    province: Annotated[
        str | None,
        typer.Option(
            "--province", help="Only this province (2025 code, e.g. 08): maps/province_<code>.html."
        ),
    ] = None,
    provinces: Annotated[
        bool, typer.Option("--provinces", help="Also one map per province with gap villages.")
    ] = False,
    communes: Annotated[
        Path | None,
        typer.Option(
            "--communes", help="Commune polygons for the Communes layer ([inputs] communes)."
        ),
    ] = None,
    coverage_cell_m: Annotated[
        float | None,
        typer.Option(
            "--coverage-cell-m",
            help="Cell of the predicted-coverage layer, m ([maps] coverage_cell_m, 500).",
        ),
    ] = None,
    no_coverage: Annotated[
        bool, typer.Option("--no-coverage", help="No predicted-coverage layer (nor GeoTIFF).")
    ] = False,
    tiles: Annotated[
        str | None,
        typer.Option(
            "--tiles",
            help="Offer online tiles as a base-layer choice, never shown at first: "
            "openstreetmap ([maps] tiles; default none: offline).",
        ),
    ] = None,
) -> None:
    """Draw the offline HTML map (villages by status, towers, planned sites, on-air
    timeline, communes, predicted coverage); optionally per province."""
    from .io import load_towers
    from .maps import build_map, build_province_maps, province_map_name
    from .pipeline import (
        ODV_CREDIT,
        Notes,
        load_optional_boundaries,
        map_layers,
        read_assessed,
        read_links,
        read_site_schedule,
        read_sites,
    )

    def body() -> None:
        sc = _scenario(
            scenario, towers=towers, boundaries=boundaries, crs=crs, towers_crs=towers_crs
        )
        if communes is not None:
            sc = dataclasses.replace(sc, inputs=dataclasses.replace(sc.inputs, communes=communes))
        maps_changes: dict[str, Any] = {}
        if coverage_cell_m is not None:
            maps_changes["coverage_cell_m"] = coverage_cell_m
        if no_coverage:
            maps_changes["coverage"] = False
        if tiles is not None:
            maps_changes["tiles"] = tiles
        if maps_changes:
            sc = dataclasses.replace(sc, maps=dataclasses.replace(sc.maps, **maps_changes))
        if sc.inputs.towers is None:
            raise_usage("no towers file: pass --towers or set [inputs] towers")
        notes = Notes()
        bnd = load_optional_boundaries(sc.inputs.boundaries, notes)
        towers_res = load_towers(
            sc.inputs.towers, crs=sc.inputs.towers_crs_effective, layer=sc.inputs.towers_layer
        )
        common: dict[str, Any] = {
            "site_schedule": read_site_schedule(site_schedule),
            "boundaries": bnd,
            "boundaries_credit": ODV_CREDIT if bnd is not None else None,
            "title": f"covgap — {sc.name}",
        }
        villages_gdf = read_assessed(assessed)
        sites_gdf = read_sites(sites_file) if sites_file.exists() else None
        common["links"] = read_links(sites_file)
        # the coverage GeoTIFF goes beside the assessed villages (the stage outputs)
        common.update(map_layers(villages_gdf, towers_res.gdf, bnd, sc, assessed.parent, notes))
        if province is not None:
            path = build_map(
                villages_gdf,
                towers_res.gdf,
                sites_gdf,
                province_code=province,
                out_path=maps / province_map_name(province),
                **common,
            )
        else:
            path = build_map(
                villages_gdf,
                towers_res.gdf,
                sites_gdf,
                out_path=maps / "coverage_map.html",
                **common,
            )
        _print_notes(notes.lines)
        out_console.print(f"map: {path}")
        if provinces:
            paths = build_province_maps(
                villages_gdf, towers_res.gdf, sites_gdf, out_dir=maps, **common
            )
            out_console.print(f"province maps: {len(paths)} in {maps}")

    _guard(body)


@app.command()
def report(
    scenario: ScenarioOpt = None,
    out: OutOpt = Path("out"),
) -> None:
    """Write the self-contained HTML report (headline numbers, tables by province and
    commune, Gantt chart, figures, and what would meet the deadlines when sites are late)
    from the stage outputs in --out."""
    import json

    import pandas as pd

    from .errors import InputFileError
    from .pipeline import read_assessed, read_site_schedule, read_sites
    from .report import build_report, late_explanation_problem

    def body() -> None:
        sc = _scenario(scenario)
        tasks_path = out / "schedule.csv"
        tasks = (
            pd.read_csv(tasks_path, dtype={"site_id": str, "crew_id": str}, keep_default_na=False)
            if tasks_path.exists()
            else None
        )
        codes = {"province_code": str, "commune_code": str}
        sites_path = out / "sites.gpkg"
        explanation_path = out / "infeasibility.json"  # written only when sites are late
        explanation = None
        if explanation_path.exists():
            try:
                explanation = json.loads(explanation_path.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise InputFileError(f"not valid JSON: {exc}", file=explanation_path) from None
            problem = late_explanation_problem(explanation)
            if problem is not None:
                raise InputFileError(problem, file=explanation_path)
        path = build_report(
            read_assessed(out / "villages_assessed.gpkg"),
            read_sites(sites_path) if sites_path.exists() else None,
            read_site_schedule(out / "sites_schedule.csv"),
            tasks,
            summary_by_province=pd.read_csv(out / "summary_by_province.csv", dtype=codes),
            summary_by_commune=pd.read_csv(out / "summary_by_commune.csv", dtype=codes),
            headline={"Scenario": sc.name},
            title=f"covgap — {sc.name}",
            out_path=out / "report.html",
            on_air_targets=sc.schedule.on_air_targets,
            deadlines=sc.schedule.deadlines,
            late_explanation=explanation,
        )
        out_console.print(f"report: {path}")

    _guard(body)


@app.command()
def export(
    assessed: Annotated[Path, typer.Option("--assessed")] = Path("out/villages_assessed.gpkg"),
    sites_file: Annotated[Path, typer.Option("--sites")] = Path("out/sites.gpkg"),
    out: OutOpt = Path("out"),
) -> None:
    """Write per operator its sites and the villages they serve: RFC 7946 GeoJSON (with
    its JSON Schema), GeoPackage, KML and CSV, plus exports/index.json."""
    from .export import write_operator_exports
    from .pipeline import read_assessed, read_links, read_sites

    def body() -> None:
        paths = write_operator_exports(
            read_sites(sites_file),
            read_assessed(assessed),
            out / "exports",
            links=read_links(sites_file),
        )
        for p in paths:
            out_console.print(f"export: {p}")

    _guard(body)


@app.command()
def run(
    scenario: ScenarioOpt = None,
    villages: VillagesOpt = None,
    towers: TowersOpt = None,
    boundaries: BoundariesOpt = None,
    crs: CrsOpt = None,
    villages_crs: VillagesCrsOpt = None,
    towers_crs: TowersCrsOpt = None,
    dem: DemOpt = None,
    model: ModelOpt = None,
    excluded: ExcludedOpt = None,
    out: OutOpt = Path("out"),
    maps: MapsOpt = Path("maps"),
    strict: StrictOpt = False,
    fail_on_late: Annotated[
        bool, typer.Option("--fail-on-late", help="Exit 1 when any site is late.")
    ] = False,
    no_schedule: Annotated[
        bool, typer.Option("--no-schedule", help="Skip the scheduling stage.")
    ] = False,
) -> None:
    """Run every stage: validate, analyse, sites, schedule, map, export (+ manifest)."""
    from .pipeline import run as run_pipeline

    def body() -> None:
        t0 = time.perf_counter()
        sc = _scenario(
            scenario,
            villages=villages,
            towers=towers,
            boundaries=boundaries,
            crs=crs,
            villages_crs=villages_crs,
            towers_crs=towers_crs,
            dem=dem,
            model=model,
            excluded=excluded,
        )
        result = run_pipeline(
            sc, out, maps, strict=strict, fail_on_late=fail_on_late, do_schedule=not no_schedule
        )
        _print_load_summary(result.loaded)
        _print_assessment(result.assessment)
        out_console.print(result.plan.summary, markup=False)
        if result.schedule is not None:
            _print_schedule(result.schedule)
        _print_notes(result.notes)
        out_console.print(
            f"outputs: {out}/ (report: {out / 'report.html'})  map: {result.map_path} "
            f"(+{len(result.province_maps)} province maps)  exports: {len(result.exports)} files"
        )
        out_console.print(f"done in {time.perf_counter() - t0:.1f} s")

    _guard(body)


@app.command()
def sample(
    seed: Annotated[int, typer.Option("--seed", help="Generator seed.")] = 20250715,
    villages_out: Annotated[
        Path | None,
        typer.Option("--villages-out", help="Default data/villages/villages.geojson."),
    ] = None,
    towers_out: Annotated[
        Path | None, typer.Option("--towers-out", help="Default data/towers/towers.csv.")
    ] = None,
    shared: Annotated[
        Path | None, typer.Option("--shared", help="The base data folder (../shared/data).")
    ] = None,
    scenario: ScenarioOpt = Path("scenarios/vietnam_2025.toml"),
    national: Annotated[
        bool,
        typer.Option(
            "--national",
            help="The synthetic national case (≈100k villages, ≈120k sites; not calibrated) "
            "instead of the bundled sample; default outputs out/national/*.parquet.",
        ),
    ] = False,
    n_villages: Annotated[
        int | None, typer.Option("--villages", help="With --national: villages.", min=1)
    ] = None,
    n_sites: Annotated[
        int | None, typer.Option("--sites", help="With --national: sites.", min=1)
    ] = None,
    dem_out: Annotated[
        Path | None,
        typer.Option(
            "--dem",
            help="Write only the synthetic Lào Cai DEM (GeoTIFF) to this path, e.g. "
            "data/dem/lao_cai_synthetic_3arcsec.tif.",
        ),
    ] = None,
) -> None:
    """Build the bundled sample (villages in real communes, synthetic towers) from
    ../shared/data, calibrated to 238 + 117 low-signal villages."""
    from .sample import SampleSpec, build_sample, shared_data_dir, write_sample

    def body() -> None:
        if dem_out is not None:
            from .demsample import write_sample_dem

            out_console.print(f"synthetic DEM: {write_sample_dem(dem_out, seed_spec(seed))}")
            return
        sc = _scenario(scenario if scenario is not None and scenario.exists() else None)
        base = shared if shared is not None else shared_data_dir()
        if national:
            from .national import build_national, national_spec, write_national

            sizes: dict[str, int] = {}
            if n_villages is not None:
                sizes["n_villages"] = n_villages
            if n_sites is not None:
                sizes["n_sites"] = n_sites
            nat = build_national(base, spec=national_spec(seed=seed, **sizes), analysis=sc.analysis)
            v_out = villages_out or Path("out/national/villages.parquet")
            t_out = towers_out or Path("out/national/towers.parquet")
            write_national(nat, v_out, t_out)
            out_console.print(f"national case: {nat.counts} → {v_out}, {t_out}")
            return
        if n_villages is not None or n_sites is not None:
            raise_usage("--villages and --sites go with --national")
        result = build_sample(base, spec=SampleSpec(seed=seed), analysis=sc.analysis)
        villages_path = villages_out or Path("data/villages/villages.geojson")
        towers_path = towers_out or Path("data/towers/towers.csv")
        write_sample(result, villages_path, towers_path)
        out_console.print(
            f"sample: {result.counts['villages']} villages → {villages_path}; "
            f"{result.counts['towers']} sector rows at {result.counts['sites']} sites → "
            f"{towers_path}"
        )

    _guard(body)


def seed_spec(seed: int) -> Any:
    """The sample DEM's spec with ``seed``."""
    from .demsample import SampleDemSpec

    return dataclasses.replace(SampleDemSpec(), seed=seed)


def main() -> None:
    """Console-script entry point: no traceback ever reaches the user (exit 3 + a log)."""
    try:
        app()
    except SystemExit as exc:
        sys.exit(exc.code)
    except KeyboardInterrupt:
        err_console.print("error: interrupted", markup=False)
        sys.exit(130)
    except Exception as exc:  # an import or set-up failure outside a command's guard
        _internal_error(exc)
        sys.exit(3)
