"""The dask-geopandas engine equals the in-memory engine, row for row, on the bundled sample.

A LocalCluster of two thread workers (quick to start; the kernel is compiled once in this
process) runs the sample cut into small Hilbert partitions, so that most villages sit near
a partition edge and depend on the towers' halo.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from types import MappingProxyType

import cloudpickle
import dask
import dask_geopandas
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import PROJECT
from distributed import Client

from covgap.analysis import AnalysisSettings, Assessment, assess_villages
from covgap.distributed import (
    DaskSettings,
    _assess_part,
    _plain,
    assess_partitions,
    assess_villages_dask,
    dask_client,
    halo_mask,
    hilbert_partitions,
)
from covgap.errors import SchemaError, UsageError
from covgap.io import load_towers, load_villages

VILLAGES = PROJECT / "data" / "villages" / "villages.geojson"
TOWERS = PROJECT / "data" / "towers" / "towers.csv"
R_M = 6_371_008.8  # WGS84 mean radius (IUGG), m


@pytest.fixture(scope="module")
def sample() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    return load_villages(VILLAGES).gdf, load_towers(TOWERS).gdf


@pytest.fixture(scope="module")
def single(sample: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]) -> Assessment:
    return assess_villages(*sample, AnalysisSettings())


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with dask_client(DaskSettings(n_workers=2, processes=False)) as c:
        yield c


def _same(a: Assessment, b: Assessment) -> None:
    pd.testing.assert_frame_equal(a.villages, b.villages, check_exact=True)
    assert a.villages.crs == b.villages.crs
    assert (a.n_pairs, a.n_extrapolated) == (b.n_pairs, b.n_extrapolated)


def test_dask_engine_equals_the_in_memory_engine(
    sample: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame], single: Assessment, client: Client
) -> None:
    villages, towers = sample
    # 3,000 villages in 12 partitions of 250: most villages lie within 20 km of an edge
    got = assess_villages_dask(
        villages, towers, dask_settings=DaskSettings(partition_villages=250), client=client
    )
    _same(single, got)
    assert got.villages.index.equals(villages.index)
    assert (got.villages["group"] != "covered").sum() == 238 + 117  # the sample's story


def test_other_settings_and_a_shuffled_index(
    sample: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame], client: Client
) -> None:
    villages, towers = sample
    rng = np.random.default_rng(3)
    shuffled = villages.iloc[rng.permutation(len(villages))]
    shuffled.index = rng.permutation(10_000)[: len(villages)]  # labels ≠ positions
    settings = AnalysisSettings(max_reach_km=8.0, model="hata", threshold_rsrp_dbm=-100.0)
    want = assess_villages(shuffled, towers, settings)
    got = assess_villages_dask(
        shuffled,
        towers,
        settings,
        DaskSettings(partition_villages=400, hilbert_level=10),
        client=client,
    )
    _same(want, got)


def test_halos_matter_the_test_can_fail(
    sample: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame], single: Assessment, client: Client
) -> None:
    """Partitions without their halo (only the towers inside their own box) change results:
    the equality above is not a tautology."""
    villages, towers = sample
    runs = hilbert_partitions(villages, partition_villages=250)
    tx, ty = towers.geometry.x.to_numpy(), towers.geometry.y.to_numpy()
    parts = []
    for ix in runs:
        part = villages.iloc[ix]
        x0, y0, x1, y1 = part.total_bounds
        inside = (tx >= x0) & (tx <= x1) & (ty >= y0) & (ty <= y1)
        parts.append(assess_villages(part, towers.loc[inside]).villages)
    no_halo = pd.concat(parts).loc[villages.index]
    differs = (no_halo["best_tower_id"] != single.villages["best_tower_id"]).sum()
    assert differs > 100


def test_lazy_partitioned_api_on_a_spatially_shuffled_frame(
    sample: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame], single: Assessment, client: Client
) -> None:
    villages, towers = sample
    with dask.config.set({"dataframe.convert-string": False}):  # keep pandas' text dtypes
        ddf = dask_geopandas.from_geopandas(villages, npartitions=6)
        ddf = ddf.spatial_shuffle(by="hilbert")
        lazy = assess_partitions(ddf, towers, AnalysisSettings(), client=client)
        frame = client.compute(lazy.villages, sync=True)
        n_pairs = client.compute(lazy.n_pairs, sync=True)
    assert lazy.villages.npartitions == ddf.npartitions
    frame = frame.set_index("source_row", drop=False).loc[villages["source_row"]]
    frame.index = villages.index
    frame.index.name = None
    pd.testing.assert_frame_equal(frame, single.villages, check_exact=True)
    assert n_pairs == single.n_pairs


def test_what_a_worker_process_receives_survives_pickling(
    sample: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame], single: Assessment
) -> None:
    """Worker processes get the partition, its halo and the settings by (cloud)pickle and
    send back the result or a covgap error: all of them round-trip. (A spawned worker
    compiles the numba kernel again, 7–20 s here: the process cluster itself is exercised
    by benchmarks/bench_national.py, which checks the equality too.)"""
    villages, towers = sample
    settings = _plain(AnalysisSettings(clutter_loss_db=MappingProxyType({"suburban": 7.0})))
    assert not any(isinstance(v, MappingProxyType) for v in vars(settings).values())
    part, halo, back = cloudpickle.loads(cloudpickle.dumps((villages.iloc[:500], towers, settings)))
    _same(
        assess_villages(villages.iloc[:500], towers, settings),
        cloudpickle.loads(cloudpickle.dumps(_assess_part(part, halo, back, 1))),
    )
    err = SchemaError("bad value", file="v.csv", row=7, column="clutter")
    again = cloudpickle.loads(cloudpickle.dumps(err))
    assert type(again) is SchemaError and again.line() == err.line()


def test_bad_rows_are_refused_as_the_in_memory_engine_refuses_them(
    sample: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame], client: Client
) -> None:
    villages, towers = sample
    bad_v = villages.copy()
    bad_v["clutter"] = bad_v["clutter"].astype(object)
    bad_v.loc[2_500, "clutter"] = "jungle"
    with pytest.raises(SchemaError) as want:
        assess_villages(bad_v, towers)
    with pytest.raises(SchemaError) as got:
        assess_villages_dask(bad_v, towers, client=client)
    assert got.value.line() == want.value.line()
    # a tower far from every village is still validated (it is in no halo)
    far = towers.iloc[[0]].copy()
    far["tower_id"] = "FAR-1"
    far["operator"] = "Unknown Telecom"
    far["source_row"] = len(towers) + 1
    far = far.set_geometry(gpd.points_from_xy([170.0], [-40.0]), crs=4326)
    bad_t = pd.concat([towers, far], ignore_index=True)
    with pytest.raises(SchemaError, match="Unknown Telecom"):
        assess_villages_dask(villages, bad_t, client=client)
    with pytest.raises(UsageError, match="partition_villages"):
        assess_villages_dask(villages, towers, dask_settings=DaskSettings(partition_villages=0))
    with pytest.raises(UsageError, match="terrain-free"):
        assess_villages_dask(villages, towers, client=client, dem=object())


def _haversine_m(lon1: np.ndarray, lat1: np.ndarray, lon2: float, lat2: float) -> np.ndarray:
    p1, p2 = np.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2) - np.radians(lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * math.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * R_M * np.arcsin(np.sqrt(a))


def test_halo_holds_every_tower_within_reach_of_the_box() -> None:
    """Brute force: a tower within 20 km (haversine) of the box — inside it, or within
    20 km of a point of its boundary, sampled every ≈ 100 m — is in the halo; also at
    60° N, where a degree of longitude is half as long."""
    rng = np.random.default_rng(5)
    for box in ((104.0, 20.0, 104.6, 20.5), (10.0, 59.5, 10.8, 60.0)):
        x0, y0, x1, y1 = box
        tl = rng.uniform(x0 - 1.0, x1 + 1.0, 3_000)
        tt = rng.uniform(y0 - 0.5, y1 + 0.5, 3_000)
        mask = halo_mask(tl, tt, box, 20.0)
        near = (tl >= x0) & (tl <= x1) & (tt >= y0) & (tt <= y1)
        s = np.linspace(0.0, 1.0, 800)
        edge_x = np.concatenate(
            [x0 + s * (x1 - x0), x0 + s * (x1 - x0), np.full(800, x0), np.full(800, x1)]
        )
        edge_y = np.concatenate(
            [np.full(800, y0), np.full(800, y1), y0 + s * (y1 - y0), y0 + s * (y1 - y0)]
        )
        for gx, gy in zip(edge_x, edge_y, strict=True):
            near |= _haversine_m(tl, tt, gx, gy) <= 20_000.0
        assert near.sum() > 100 and (~mask).sum() > 100
        assert not (near & ~mask).any()
        # and the halo is not the whole map: towers 40 km north or south are left out
        deg_40km = 40_000 / R_M * 180 / math.pi
        assert not (mask & ((tt > y1 + deg_40km) | (tt < y0 - deg_40km))).any()


def test_unreachable_scheduler_is_a_usage_error() -> None:
    with (
        pytest.raises(UsageError, match="could not reach the Dask scheduler"),
        dask_client(DaskSettings(scheduler="tcp://127.0.0.1:1", connect_timeout_s=1.0)),
    ):
        pass
