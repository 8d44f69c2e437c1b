"""The stages chained: load → validate → analyse → sites → schedule → map / export.

Each ``stage_*`` function reads what it needs, calls the pure stage function and
writes the stage's files into the output folder (DESIGN §2). The CLI is a thin
wrapper over these; ``run`` chains them all and writes ``manifest.json``.
"""

from __future__ import annotations

import datetime as dt
import logging
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from . import __version__
from .analysis import AnalysisSettings, Assessment, assess_villages, summarise
from .calibration import CalibrationResult, calibrate
from .coverage_grid import analysed_area, coverage_grid, geotiff_name, write_geotiff
from .errors import CovgapError, CRSError, InputFileError, Reject, RequirementError, UsageError
from .export import write_operator_exports
from .io import LoadResult, load_boundaries, load_towers, load_villages, write_rejects_csv
from .maps import build_maps, load_communes
from .outputs import (
    file_hashes,
    read_stage_gpkg,
    write_csv,
    write_gpkg,
    write_gpkg_layers,
    write_json,
)
from .propagation import TERRAIN_MODEL_NAMES
from .report import build_gantt, build_report
from .scenario import Scenario
from .schedule import ScheduleResult, ScheduleSettings, plan_builds
from .schedule_io import crew_utilisation, write_infeasibility, write_problem
from .siting import SitePlan, plan_sites

log = logging.getLogger(__name__)

#: Credit shown on maps for the default base layer (../shared/data/SOURCES.md).
ODV_CREDIT = (
    "Provincial boundaries © Open Development Vietnam / Open Development Mekong, "
    "source Department of Survey and Mapping of Viet Nam, CC BY-SA 4.0; dissolved to "
    "the 2025 provinces by the covgap project"
)
#: Credit shown on maps for the default commune layer (../shared/data/SOURCES.md).
TLQ_CREDIT = (
    "Administrative units and boundaries from Vietnamese Provinces Database, © 2021 Thang "
    "Le Quoc, MIT License; boundaries derived from the Vietnam Administrative Units "
    "Reference Map, Vietnam Natural Resources, Environment and Cartography Publishing House"
)
#: The shared commune file TLQ_CREDIT is for.
TLQ_COMMUNES_FILE = "vn_communes_north_sample.geojson"


@dataclass
class Notes:
    """Things the run says once in its summary (missing optional inputs, warnings)."""

    lines: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        if text not in self.lines:
            self.lines.append(text)


@dataclass(frozen=True)
class Loaded:
    """Validated inputs."""

    villages: LoadResult
    towers: LoadResult
    boundaries: gpd.GeoDataFrame | None
    boundaries_path: Path | None
    #: the opened DEM (``covgap.terrain.Dem``) or ``None`` when no DEM was given
    dem: Any = None

    @property
    def rejects(self) -> list[Reject]:
        return [*self.villages.rejects, *self.towers.rejects]

    @property
    def warnings(self) -> list[str]:
        return [*self.villages.warnings, *self.towers.warnings]


def load_optional_boundaries(path: Path | None, notes: Notes) -> gpd.GeoDataFrame | None:
    """Province boundaries, or ``None`` with a note when the file is absent."""
    if path is None:
        notes.add("no boundaries file given: points checked against Vietnam's bounding box only")
        return None
    if not path.exists():
        notes.add(
            f"boundaries file {path} not found: points checked against Vietnam's bounding box "
            "only; maps have no province base layer"
        )
        return None
    return load_boundaries(path)


def stage_load(scenario: Scenario, notes: Notes) -> Loaded:
    """Load and validate the villages and towers named in ``scenario.inputs``."""
    inp = scenario.inputs
    if inp.villages is None:
        raise UsageError("no villages file: pass --villages or set [inputs] villages")
    if inp.towers is None:
        raise UsageError("no towers file: pass --towers or set [inputs] towers")
    boundaries = load_optional_boundaries(inp.boundaries, notes)
    villages = load_villages(
        inp.villages,
        crs=inp.villages_crs_effective,
        layer=inp.villages_layer,
        boundaries=boundaries,
        admin_vintage=inp.admin_vintage,
    )
    towers = load_towers(
        inp.towers, crs=inp.towers_crs_effective, layer=inp.towers_layer, boundaries=boundaries
    )
    bpath = inp.boundaries if boundaries is not None else None
    dem = open_optional_dem(inp.dem, scenario, notes)
    return Loaded(villages, towers, boundaries, bpath, dem)


def open_optional_dem(path: Path | None, scenario: Scenario, notes: Notes) -> Any:
    """The DEM handle (no pixels read yet), or ``None`` with a note on the models used."""
    model = scenario.analysis.model
    if path is None:
        if model in TERRAIN_MODEL_NAMES:
            raise UsageError(f"model '{model}' needs a DEM: pass --dem FILE or set [inputs] dem")
        notes.add("no DEM: terrain-free models (Hata / COST-231 / RMa) everywhere")
        return None
    from .terrain import open_dem  # rasterio is imported only when a DEM is given

    if model not in ("auto", *TERRAIN_MODEL_NAMES):
        notes.add(f"a DEM was given but model = '{model}' is terrain-free: the DEM is not used")
    return open_dem(path)


def write_rejects(loaded: Loaded, out_dir: Path, *, strict: bool) -> Path:
    """Write ``rejects.csv`` (header only when clean); under ``strict`` rejects fail the run."""
    path = write_rejects_csv(loaded.rejects, out_dir / "rejects.csv")
    if strict and loaded.rejects:
        first = loaded.rejects[0]
        raise RequirementError(
            f"{len(loaded.rejects)} rejected rows (--strict); first: {first.line()}; all in {path}"
        )
    return path


@dataclass(frozen=True)
class Analysed:
    """The analysis stage's result and its two summaries."""

    assessment: Assessment
    by_province: pd.DataFrame
    by_commune: pd.DataFrame


def stage_analyse(
    loaded: Loaded,
    scenario: Scenario,
    out_dir: Path,
    *,
    engine: str = "memory",
    scheduler: str | None = None,
    workers: int | None = None,
) -> Analysed:
    """Best server per village, low-signal flags and summaries → ``out_dir``.

    ``engine="dask"`` runs the same function on spatial partitions (dask-geopandas,
    a LocalCluster or the cluster at ``scheduler``); its results equal the in-memory ones.
    """
    if engine == "dask":
        from .distributed import DaskSettings, assess_villages_dask

        assessment = assess_villages_dask(
            loaded.villages.gdf,
            loaded.towers.gdf,
            scenario.analysis,
            DaskSettings(scheduler=scheduler, n_workers=workers),
            dem=loaded.dem,
        )
    elif engine == "memory":
        if scheduler is not None:
            raise UsageError("--scheduler needs --engine dask")
        assessment = assess_villages(
            loaded.villages.gdf, loaded.towers.gdf, scenario.analysis, dem=loaded.dem
        )
    else:
        raise UsageError(f"--engine {engine}: expected 'memory' or 'dask'")
    result = Analysed(
        assessment,
        summarise(assessment.villages, by="province"),
        summarise(assessment.villages, by="commune"),
    )
    write_gpkg(assessment.villages, out_dir / "villages_assessed.gpkg", layer="villages")
    write_csv(result.by_province, out_dir / "summary_by_province.csv")
    write_csv(result.by_commune, out_dir / "summary_by_commune.csv")
    return result


def assessment_facts(assessment: Assessment, settings: AnalysisSettings) -> dict[str, Any]:
    """The analysis figures recorded in ``manifest.json``."""
    return {
        "model": settings.model,
        "terrain_model": assessment.terrain_model,
        "n_pairs": assessment.n_pairs,
        "n_pairs_terrain": assessment.n_pairs_terrain,
        "n_pairs_fallback": assessment.n_pairs_fallback,
        "extrapolated_share": round(assessment.extrapolated_share, 6),
    }


def stage_calibrate(
    assessment: Assessment, scenario: Scenario, out_dir: Path, *, folds: int
) -> CalibrationResult:
    """Fit per-clutter corrections to the measurements, k-fold held out → calibration.json."""
    result = calibrate(
        assessment.villages,
        k=folds,
        seed=scenario.seed,
        default_clutter=scenario.analysis.default_clutter,
    )
    write_json(result.to_dict(), out_dir / "calibration.json")
    write_csv(result.held_out, out_dir / "calibration_held_out.csv")
    return result


def load_excluded(path: Path | None) -> gpd.GeoDataFrame | None:
    """Excluded areas (polygons, any CRS pyogrio reads) or ``None`` when not given."""
    if path is None:
        return None
    if not path.exists():
        raise InputFileError("excluded-areas file not found", file=path)
    try:
        gdf = pyogrio.read_dataframe(path)
    except Exception as exc:  # pyogrio raises several DataSourceError types
        raise InputFileError(f"cannot read the excluded areas: {exc}", file=path) from exc
    if gdf.crs is None:
        raise CRSError("excluded areas have no CRS (add a .prj or use GeoJSON)", file=path)
    return gdf


def stage_sites(
    villages: gpd.GeoDataFrame,
    towers: gpd.GeoDataFrame,
    scenario: Scenario,
    out_dir: Path,
    *,
    dem: Any = None,
) -> SitePlan:
    """Plan sites for the gap villages → ``sites.gpkg`` (layers ``sites`` and ``links``),
    ``cost_by_province.csv`` and, when some cannot be covered, ``uncoverable.csv``."""
    excluded = load_excluded(scenario.inputs.excluded)
    try:
        plan = plan_sites(villages, towers, scenario.siting, dem=dem, excluded=excluded)
    except CovgapError as exc:
        if exc.file is None and excluded is not None and exc.column == "geometry":
            exc.file = str(scenario.inputs.excluded)
        raise
    write_gpkg_layers({"sites": plan.sites, "links": plan.links}, out_dir / "sites.gpkg")
    write_csv(plan.cost_by_province, out_dir / "cost_by_province.csv")
    uncoverable = out_dir / "uncoverable.csv"
    if len(plan.uncoverable):
        write_csv(plan.uncoverable, uncoverable)
    elif uncoverable.exists():
        uncoverable.unlink()  # a stale list from an earlier plan would mislead
    return plan


def stage_schedule(
    sites: pd.DataFrame,
    scenario: Scenario,
    out_dir: Path,
    *,
    settings: ScheduleSettings | None = None,
    progress: pd.DataFrame | None = None,
    previous: pd.DataFrame | None = None,
) -> ScheduleResult:
    """Schedule the builds with CP-SAT → ``schedule.csv``, ``sites_schedule.csv``,
    ``problem.json`` (the stand-alone problem, re-runnable), ``crew_utilisation.csv``,
    ``gantt.html``, and ``infeasibility.json`` when sites are late (``moved.csv`` on a
    re-plan)."""
    settings = settings if settings is not None else scenario.schedule
    write_problem(out_dir / "problem.json", sites, settings)
    result = plan_builds(sites, settings, progress=progress, previous=previous)
    write_csv(result.tasks, out_dir / "schedule.csv")
    write_csv(result.sites, out_dir / "sites_schedule.csv")
    write_csv(crew_utilisation(result), out_dir / "crew_utilisation.csv")
    infeasibility = out_dir / "infeasibility.json"
    if result.explanation is not None:
        write_infeasibility(infeasibility, result.explanation)
    elif infeasibility.exists():
        infeasibility.unlink()  # a stale one from an earlier, late plan would mislead
    if result.moved is not None:
        write_csv(result.moved, out_dir / "moved.csv")
    build_gantt(
        result.sites,
        result.tasks,
        title=f"covgap — {scenario.name}: schedule",
        out_path=out_dir / "gantt.html",
        on_air_targets=settings.on_air_targets,
        deadlines=settings.deadlines,
        late_explanation=result.explanation.to_dict() if result.explanation is not None else None,
    )
    return result


def load_optional_communes(path: Path | None, notes: Notes) -> gpd.GeoDataFrame | None:
    """Commune polygons for the maps, or ``None`` (with a note when the file is absent)."""
    if path is None:
        return None
    if not path.exists():
        notes.add(f"communes file {path} not found: maps have no commune layer")
        return None
    return load_communes(path)


def map_layers(
    villages: gpd.GeoDataFrame,
    towers: gpd.GeoDataFrame,
    boundaries: gpd.GeoDataFrame | None,
    scenario: Scenario,
    out_dir: Path,
    notes: Notes,
    *,
    dem_used: bool = False,
) -> dict[str, Any]:
    """The optional map layers (``[maps]``, ``[inputs] communes``) as keywords of
    ``build_maps`` (inputs prepared once for all maps); writes the predicted-coverage grid as
    ``<out_dir>/predicted_<quantity>_<technology>.tif`` (e.g. ``predicted_rsrp_4g.tif``)."""
    settings = scenario.maps
    layers: dict[str, Any] = {"tiles": settings.tiles_key}
    path = scenario.inputs.communes
    communes = load_optional_communes(path, notes)
    if communes is not None and path is not None:
        layers["communes"] = communes
        layers["communes_credit"] = (
            TLQ_CREDIT if path.name == TLQ_COMMUNES_FILE else f"communes: {path.name}"
        )
    if settings.coverage and len(villages):
        area = analysed_area(villages, boundaries)
        grid = coverage_grid(towers, area, scenario.analysis, settings.grid_settings())
        write_geotiff(grid, out_dir / geotiff_name(grid))
        layers["coverage_raster"] = grid
        if dem_used:
            notes.add("predicted-coverage layer: terrain-free (the DEM is used for villages)")
    return layers


def read_assessed(path: Path) -> gpd.GeoDataFrame:
    """``villages_assessed.gpkg`` as the analysis stage wrote it."""
    return read_stage_gpkg(path)


def read_sites(path: Path) -> gpd.GeoDataFrame:
    """The ``sites`` layer of ``sites.gpkg`` as the sites stage wrote it."""
    return read_stage_gpkg(path, layer="sites")


def read_links(path: Path) -> gpd.GeoDataFrame | None:
    """The backhaul ``links`` layer of ``sites.gpkg`` (``None`` when absent)."""
    if not path.exists() or "links" not in {name for name, _ in pyogrio.list_layers(path)}:
        return None
    return read_stage_gpkg(path, layer="links")


def read_site_schedule(path: Path) -> pd.DataFrame | None:
    """``sites_schedule.csv`` or ``None`` when absent."""
    if not path.exists():
        return None
    return pd.read_csv(path, dtype={"site_id": str}, keep_default_na=False)


@dataclass(frozen=True)
class RunResult:
    """What ``covgap run`` produced."""

    loaded: Loaded
    assessment: Assessment
    plan: SitePlan
    schedule: ScheduleResult | None
    map_path: Path
    province_maps: list[Path]
    exports: list[Path]
    out_dir: Path
    notes: list[str]


def run(
    scenario: Scenario,
    out_dir: Path,
    maps_dir: Path,
    *,
    strict: bool = False,
    fail_on_late: bool = False,
    do_schedule: bool = True,
) -> RunResult:
    """Every stage in order; outputs in ``out_dir``, the map in ``maps_dir``."""
    started = dt.datetime.now(dt.UTC)
    notes = Notes()
    out_dir.mkdir(parents=True, exist_ok=True)
    loaded = stage_load(scenario, notes)
    write_rejects(loaded, out_dir, strict=strict)
    analysed = stage_analyse(loaded, scenario, out_dir)
    assessment = analysed.assessment
    plan = stage_sites(assessment.villages, loaded.towers.gdf, scenario, out_dir, dem=loaded.dem)
    schedule = stage_schedule(plan.sites, scenario, out_dir) if do_schedule else None
    site_schedule = schedule.sites if schedule is not None else None
    credit = ODV_CREDIT if loaded.boundaries is not None else None
    title = f"covgap — {scenario.name}"
    layers = map_layers(
        assessment.villages,
        loaded.towers.gdf,
        loaded.boundaries,
        scenario,
        out_dir,
        notes,
        dem_used=loaded.dem is not None,
    )
    map_path, province_maps = build_maps(
        assessment.villages,
        loaded.towers.gdf,
        plan.sites,
        links=plan.links,
        site_schedule=site_schedule,
        boundaries=loaded.boundaries,
        boundaries_credit=credit,
        title=title,
        out_path=maps_dir / "coverage_map.html",
        out_dir=maps_dir,
        **layers,
    )
    exports = write_operator_exports(
        plan.sites, assessment.villages, out_dir / "exports", links=plan.links
    )
    build_report(
        assessment.villages,
        plan.sites,
        site_schedule,
        schedule.tasks if schedule is not None else None,
        summary_by_province=analysed.by_province,
        summary_by_commune=analysed.by_commune,
        headline={
            "Scenario": scenario.name,
            "Schedule solver": schedule.status if schedule is not None else "not run",
            "Site planning": plan.method,
        },
        title=title,
        out_path=out_dir / "report.html",
        on_air_targets=scenario.schedule.on_air_targets,
        deadlines=scenario.schedule.deadlines,
        late_explanation=(
            schedule.explanation.to_dict()
            if schedule is not None and schedule.explanation is not None
            else None
        ),
    )
    inputs = [
        p
        for p in (
            scenario.inputs.villages,
            scenario.inputs.towers,
            loaded.boundaries_path,
            scenario.inputs.dem,
            scenario.inputs.excluded,
            scenario.inputs.communes,
            scenario.path,
        )
        if p is not None
    ]
    manifest = {
        "covgap_version": __version__,
        "started_utc": started.isoformat(timespec="seconds"),
        "finished_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "inputs": {str(p): h for p, h in file_hashes(inputs).items()},
        "settings": scenario.to_dict(),
        "analysis": assessment_facts(assessment, scenario.analysis),
        "outputs": dict(
            file_hashes(
                [
                    p
                    for p in out_dir.rglob("*")
                    if p.name != "manifest.json"
                    # hidden temporaries a killed earlier run left behind (atomic writes)
                    and not any(part.startswith(".") for part in p.relative_to(out_dir).parts)
                ],
                base=out_dir,
            )
        ),
        "maps": [str(map_path), *map(str, province_maps)],
        "notes": notes.lines,
    }
    write_json(manifest, out_dir / "manifest.json")
    if fail_on_late and schedule is not None and schedule.n_late:
        raise RequirementError(
            f"{schedule.n_late} sites finish after their deadline (--fail-on-late); "
            f"see {out_dir / 'sites_schedule.csv'}"
        )
    return RunResult(
        loaded, assessment, plan, schedule, map_path, province_maps, exports, out_dir, notes.lines
    )
