"""The analysis on dask-geopandas: villages partitioned in space, towers with a halo (DESIGN §8).

One machine handles the national case in memory (:func:`covgap.analysis.assess_villages`;
on 2 cores Dask adds overhead and no speed). Beyond it — many scenarios, millions of
villages, a cluster — the same function runs once per partition of villages:

1. **Partition villages in space.** An in-memory GeoDataFrame is sorted along a Hilbert
   curve (geopandas' ``hilbert_distance``, the key ``dask_geopandas``' ``spatial_shuffle``
   uses) and cut into contiguous runs of ``partition_villages``; a
   ``dask_geopandas.GeoDataFrame`` is taken as partitioned (spatially shuffle it first:
   ``ddf.spatial_shuffle(by="hilbert")``, else every halo is the whole country — still
   exact, only slower).
2. **Ship each partition its towers with a halo.** A village is served only by sectors
   within their reach, and a reach never exceeds ``max_reach_km`` (DESIGN §4), so the
   towers inside the partition's bounding box widened by ``max_reach_km`` (on the sphere,
   with a margin) hold every sector any of its villages can hear.
3. **Run** :func:`~covgap.analysis.assess_villages` **on each partition** with its halo
   and the same settings. Every village's result depends only on the sectors in its reach
   (ties between equal levels go to the lowest ``tower_id``, and a subset keeps the
   order), so the results **equal** the single-machine ones, value for value, and so do
   the pair counts.

Towers are validated once, whole, on the client (a bad row outside every halo is refused
as :func:`~covgap.analysis.assess_villages` would refuse it); villages are validated in
their partitions (each village is in exactly one): with several bad rows, the one
reported may differ from the single-machine engine's.

Cluster: a ``distributed.LocalCluster`` by default (worker processes, one task thread
each, numba threads shared out among the workers); any running Dask cluster given its
scheduler address (``tcp://host:8786``); its workers must have covgap installed. This
module does no file I/O; inputs and outputs are EPSG:4326.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import dask
import dask.dataframe as dd
import dask_geopandas
import geopandas as gpd
import numba
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from distributed import Client, Future, LocalCluster

from .analysis import EARTH_RADIUS_M, AnalysisSettings, Assessment, assess_villages
from .errors import SchemaError, UsageError

__all__ = [
    "DaskSettings",
    "PartitionedAssessment",
    "assess_partitions",
    "assess_villages_dask",
    "dask_client",
    "halo_mask",
    "hilbert_partitions",
    "warm_up",
]

log = logging.getLogger(__name__)

#: Widening of the halo beyond the reach (relative), and an absolute margin in radians
#: (≈ 6 m): towers just outside a partition's reach cost nothing, a missed one breaks
#: the equality.
_HALO_RELATIVE = 1e-3
_HALO_ABS_RAD = 1e-6


@dataclass(frozen=True)
class DaskSettings:
    """How the dask engine runs (``covgap analyse --engine dask``)."""

    #: address of a running Dask scheduler (``tcp://host:8786``); None → a LocalCluster
    scheduler: str | None = None
    #: LocalCluster: worker count (None → min(2, CPU count))
    n_workers: int | None = None
    #: LocalCluster: worker processes (False: threads in this process, quick to start)
    processes: bool = True
    #: villages per partition (in-memory input; the result does not depend on it)
    partition_villages: int = 50_000
    #: numba threads per task (None → CPU count / workers on a LocalCluster, all the
    #: worker machine's cores on a remote cluster)
    numba_threads: int | None = None
    #: Hilbert curve level (precision) of the spatial sort
    hilbert_level: int = 16
    #: seconds to wait for the scheduler at ``scheduler``
    connect_timeout_s: float = 10.0


@dataclass(frozen=True)
class PartitionedAssessment:
    """Lazy result of :func:`assess_partitions` (compute the three together)."""

    #: the assessed villages, one partition per input partition, spatial partitions kept
    villages: dask_geopandas.GeoDataFrame
    #: total sector–village pairs evaluated (a ``dask.delayed`` int)
    n_pairs: Any
    #: of those, evaluated by a model outside its validity range (``dask.delayed`` int)
    n_extrapolated: Any


# --------------------------------------------------------------------------- geometry


def _check(s: DaskSettings) -> None:
    if s.n_workers is not None and not (isinstance(s.n_workers, int) and s.n_workers >= 1):
        raise UsageError(f"dask n_workers = {s.n_workers!r}: expected an integer ≥ 1")
    if not (isinstance(s.partition_villages, int) and s.partition_villages >= 1):
        raise UsageError(
            f"dask partition_villages = {s.partition_villages!r}: expected an integer ≥ 1"
        )
    if s.numba_threads is not None and not (
        isinstance(s.numba_threads, int) and s.numba_threads >= 1
    ):
        raise UsageError(f"dask numba_threads = {s.numba_threads!r}: expected an integer ≥ 1")
    if not (math.isfinite(s.connect_timeout_s) and s.connect_timeout_s > 0):
        raise UsageError(f"dask connect_timeout_s = {s.connect_timeout_s!r}: expected seconds > 0")
    if not (isinstance(s.hilbert_level, int) and 1 <= s.hilbert_level <= 16):
        raise UsageError(f"dask hilbert_level = {s.hilbert_level!r}: expected 1…16")


def _xy(gdf: gpd.GeoDataFrame) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Point coordinates (degrees); NaN for anything that is not a non-empty point."""
    arr = np.asarray(gdf.geometry.array, dtype=object)
    if arr.size == 0:
        return np.zeros(0), np.zeros(0)
    ok = (shapely.get_type_id(arr) == 0) & ~shapely.is_empty(arr)
    pts = arr.copy()
    pts[~ok] = None
    return (
        np.where(ok, shapely.get_x(pts), np.nan),
        np.where(ok, shapely.get_y(pts), np.nan),
    )


def hilbert_partitions(
    villages: gpd.GeoDataFrame, *, partition_villages: int, level: int = 16
) -> list[npt.NDArray[np.int64]]:
    """Positions of ``villages`` (EPSG:4326 points) in contiguous runs along a Hilbert curve.

    Runs of at most ``partition_villages``, as equal as possible; ties on the curve keep
    file order. Every position appears in exactly one run.
    """
    n = len(villages)
    if n == 0:
        return []
    key = villages.geometry.hilbert_distance(level=level).to_numpy()
    order = np.lexsort((np.arange(n), key)).astype(np.int64)
    k = math.ceil(n / partition_villages)
    return [np.asarray(a, dtype=np.int64) for a in np.array_split(order, k)]


def halo_mask(
    tower_lon: npt.NDArray[np.float64],
    tower_lat: npt.NDArray[np.float64],
    bounds: tuple[float, float, float, float],
    reach_km: float,
) -> npt.NDArray[np.bool_]:
    """Towers (degrees) that may lie within ``reach_km`` (great circle) of a point in
    ``bounds`` = (min lon, min lat, max lon, max lat), degrees.

    Conservative: the box widened by the reach in latitude and, in longitude, by the
    widest half-width of a spherical cap of that radius centred at the box's
    highest-|latitude| edge, both with a margin. Non-finite tower coordinates are kept
    (the analysis then refuses them with their row).
    """
    minx, miny, maxx, maxy = bounds
    r = reach_km * 1000.0 / EARTH_RADIUS_M * (1.0 + _HALO_RELATIVE) + _HALO_ABS_RAD
    r_deg = math.degrees(r)
    lat_hi = math.radians(max(abs(miny), abs(maxy)))
    s = math.sin(r) / math.cos(lat_hi) if math.cos(lat_hi) > 0 else 2.0
    lon_deg = 360.0 if s >= 1.0 else math.degrees(math.asin(s)) * (1.0 + _HALO_RELATIVE)
    finite = np.isfinite(tower_lon) & np.isfinite(tower_lat)
    dlon = np.abs((tower_lon - np.clip(tower_lon, minx, maxx) + 180.0) % 360.0 - 180.0)
    inside = (tower_lat >= miny - r_deg) & (tower_lat <= maxy + r_deg) & (dlon <= lon_deg)
    return inside | ~finite


# --------------------------------------------------------------------------- cluster


@contextlib.contextmanager
def dask_client(settings: DaskSettings | None = None) -> Iterator[Client]:
    """A Dask client: on ``settings.scheduler`` if given, else on a new LocalCluster
    (closed on exit). An unreachable scheduler is a :class:`UsageError`."""
    settings = settings or DaskSettings()
    _check(settings)
    if settings.scheduler:
        try:
            client = Client(settings.scheduler, timeout=f"{settings.connect_timeout_s}s")
        except (OSError, TimeoutError) as exc:
            raise UsageError(
                f"could not reach the Dask scheduler at {settings.scheduler} ({exc}); "
                "start one (`dask scheduler`, `dask worker ADDRESS`) or leave out --scheduler "
                "to run on a local cluster"
            ) from None
        try:
            yield client
        finally:
            client.close()
        return
    n_workers = settings.n_workers or min(2, os.cpu_count() or 1)
    with (
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=settings.processes,
            dashboard_address="127.0.0.1:0",  # local-only HTTP endpoint, any free port
            silence_logs=logging.CRITICAL,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def _numba_threads(settings: DaskSettings, client: Client) -> int | None:
    """numba threads per task: the setting, else a fair share of a LocalCluster's cores."""
    if settings.numba_threads is not None:
        return settings.numba_threads
    if settings.scheduler:
        return None
    workers = max(1, len(client.scheduler_info().get("workers", {})) or 1)
    return max(1, (os.cpu_count() or 1) // workers)


def _warm() -> float:
    """Compile the analysis kernel in this process (numba JIT); seconds taken."""
    import time

    t0 = time.perf_counter()
    village = gpd.GeoDataFrame(
        {"electrified": [True]}, geometry=gpd.points_from_xy([105.0], [21.0]), crs="EPSG:4326"
    )
    tower = gpd.GeoDataFrame(
        {
            "tower_id": ["T"],
            "operator": ["Viettel"],
            "technology": ["4G"],
            "frequency_mhz": [1800.0],
            "height_m": [30.0],
            "eirp_dbm": [60.0],
        },
        geometry=gpd.points_from_xy([105.01], [21.0]),
        crs="EPSG:4326",
    )
    assess_villages(village, tower)
    return time.perf_counter() - t0


def warm_up(client: Client) -> dict[str, float]:
    """Compile the analysis kernel on every worker of ``client`` (numba compiles once per
    process, several seconds; a worker would otherwise pay it in its first task).
    Returns seconds per worker address."""
    return dict(client.run(_warm))


# --------------------------------------------------------------------------- tasks


@contextlib.contextmanager
def _keep_dtypes() -> Iterator[None]:
    """Dask would turn text columns into pyarrow strings; keep pandas' own dtypes, so the
    result equals the single-machine one dtype for dtype."""
    with dask.config.set({"dataframe.convert-string": False}):
        yield


def _plain(settings: AnalysisSettings) -> AnalysisSettings:
    """Settings with plain dicts (mapping proxies do not pickle to worker processes)."""
    changes: dict[str, Any] = {
        f.name: dict(value)
        for f in dataclasses.fields(settings)
        if isinstance(value := getattr(settings, f.name), MappingProxyType)
    }
    return dataclasses.replace(settings, **changes)


def _assess_part(
    villages: gpd.GeoDataFrame,
    towers: gpd.GeoDataFrame,
    settings: AnalysisSettings,
    numba_threads: int | None,
) -> Assessment:
    """One partition: the single-machine function, numba limited to its share of cores."""
    if numba_threads is not None:
        ceiling = int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
        numba.set_num_threads(max(1, min(numba_threads, ceiling)))
    return assess_villages(villages, towers, settings)


def _villages_of(result: Assessment) -> gpd.GeoDataFrame:
    return result.villages


def _counts_of(result: Assessment) -> tuple[int, int]:
    return result.n_pairs, result.n_extrapolated


def _total(counts: list[tuple[int, int]]) -> tuple[int, int]:
    return sum(c[0] for c in counts), sum(c[1] for c in counts)


def _validate(
    villages_meta: gpd.GeoDataFrame, towers: gpd.GeoDataFrame, settings: AnalysisSettings
) -> gpd.GeoDataFrame:
    """Check settings, the towers (all rows) and the villages' columns and CRS on the
    client, as the single-machine engine does; returns the result's empty frame (meta)."""
    return assess_villages(villages_meta.iloc[:0], towers, settings).villages


def assess_partitions(
    villages: dask_geopandas.GeoDataFrame,
    towers: gpd.GeoDataFrame,
    settings: AnalysisSettings | None = None,
    *,
    client: Client | None = None,
    numba_threads: int | None = None,
) -> PartitionedAssessment:
    """Lazy best-server analysis of a partitioned villages frame (EPSG:4326 points).

    Each partition is assessed by :func:`~covgap.analysis.assess_villages` with the
    towers (a GeoDataFrame in canonical form) inside its halo (:func:`halo_mask` on the
    partition's spatial bounds and ``settings.max_reach_km``). ``villages.spatial_partitions``
    is computed when absent (one pass). With ``client``, the halos are scattered to the
    cluster instead of being embedded in the task graph. Returns lazy villages (the
    single-machine columns, spatial partitions kept) and lazy pair counts.
    """
    settings = settings or AnalysisSettings()
    meta = _validate(villages._meta, towers, settings)
    if villages.spatial_partitions is None:
        villages.calculate_spatial_partitions()
    spatial = villages.spatial_partitions
    assert spatial is not None
    t_lon, t_lat = _xy(towers)
    plain = _plain(settings)
    parts = villages.to_delayed()
    results = []
    for i, part in enumerate(parts):
        bounds = tuple(float(b) for b in spatial.iloc[i].bounds)
        halo = towers.loc[halo_mask(t_lon, t_lat, bounds, settings.max_reach_km)]  # type: ignore[arg-type]
        halo_ref: Any = (
            client.scatter(halo, hash=False)
            if client is not None
            else dask.delayed(halo, name=f"covgap-halo-{i}-{dask.base.tokenize(bounds)}")
        )
        results.append(dask.delayed(_assess_part)(part, halo_ref, plain, numba_threads))
    frames = [dask.delayed(_villages_of)(r) for r in results]
    with _keep_dtypes():
        out = dd.from_delayed(frames, meta=meta, verify_meta=False)
    out.spatial_partitions = spatial
    counts = dask.delayed(_total)([dask.delayed(_counts_of)(r) for r in results])
    return PartitionedAssessment(villages=out, n_pairs=counts[0], n_extrapolated=counts[1])


def assess_villages_dask(
    villages: gpd.GeoDataFrame,
    towers: gpd.GeoDataFrame,
    settings: AnalysisSettings | None = None,
    dask_settings: DaskSettings | None = None,
    *,
    client: Client | None = None,
    dem: Any = None,
) -> Assessment:
    """:func:`~covgap.analysis.assess_villages` on a Dask cluster; the same result.

    ``villages`` and ``towers`` as for the single-machine function (canonical form,
    EPSG:4326 points). Villages are cut into Hilbert-curve runs of
    ``dask_settings.partition_villages`` (:func:`hilbert_partitions`), each scattered to
    the cluster and assessed with its towers' halo (:func:`assess_partitions`); the
    result comes back in the input's order and index, with the same columns, values and
    pair counts as ``assess_villages(villages, towers, settings)``. ``client``: an open
    Dask client; else one is opened from ``dask_settings`` (:func:`dask_client`) and
    closed at the end.

    Terrain-free models only: a ``dem`` is refused with a :class:`UsageError` (per
    partition, a DEM covering none of a partition's paths is an error the whole run
    would not raise, so the results could differ; use the in-memory engine).
    """
    if dem is not None:
        raise UsageError(
            "the dask engine runs the terrain-free analysis only: drop the DEM, or run the "
            "in-memory engine (--engine memory) for terrain-aware paths"
        )
    settings = settings or AnalysisSettings()
    dask_settings = dask_settings or DaskSettings()
    _check(dask_settings)
    if not isinstance(villages, gpd.GeoDataFrame) or not isinstance(towers, gpd.GeoDataFrame):
        raise SchemaError("villages and towers must be GeoDataFrames (EPSG:4326 points)")
    if client is None:
        with dask_client(dask_settings) as own:
            return assess_villages_dask(villages, towers, settings, dask_settings, client=own)
    meta = _validate(villages, towers, settings)
    lon, lat = _xy(villages)
    bad = ~np.isfinite(lon)
    if bad.any():  # the single-machine engine words the error (row, column)
        assess_villages(villages.iloc[np.flatnonzero(bad)[:1]], towers.iloc[:0], settings)
    t_lon, _ = _xy(towers)
    span = np.concatenate([lon, t_lon[np.isfinite(t_lon)]])
    if len(villages) == 0 or span.size == 0 or float(span.max() - span.min()) > 180.0:
        return assess_villages(villages, towers, settings)  # nothing to share out, or refused
    runs = hilbert_partitions(
        villages,
        partition_villages=dask_settings.partition_villages,
        level=dask_settings.hilbert_level,
    )
    # one partition at a time: the client keeps no second copy of the villages
    futures: list[Future] = [client.scatter(villages.iloc[ix], hash=False) for ix in runs]
    spatial = gpd.GeoSeries(
        [shapely.box(lon[ix].min(), lat[ix].min(), lon[ix].max(), lat[ix].max()) for ix in runs],
        crs=villages.crs,
    )
    with _keep_dtypes():
        ddf = dd.from_delayed(futures, meta=villages.iloc[:0], verify_meta=False)
        ddf.spatial_partitions = spatial
        lazy = assess_partitions(
            ddf,
            towers,
            settings,
            client=client,
            numba_threads=_numba_threads(dask_settings, client),
        )
        *frames, n_pairs, n_ext = client.compute(
            [*lazy.villages.to_delayed(), lazy.n_pairs, lazy.n_extrapolated], sync=True
        )
    del futures, ddf, lazy
    inverse = np.empty(len(villages), dtype=np.int64)
    inverse[np.concatenate(runs)] = np.arange(len(villages))
    joined = pd.concat(frames)
    del frames
    result = gpd.GeoDataFrame(joined.iloc[inverse], geometry=meta.geometry.name, crs=villages.crs)
    return Assessment(
        villages=result,
        n_pairs=int(n_pairs),
        n_extrapolated=int(n_ext),
        extrapolated_share=(int(n_ext) / int(n_pairs)) if n_pairs else 0.0,
    )
