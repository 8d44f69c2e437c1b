"""Terrain: DEM access, profile sampling, knife-edge diffraction, terrain path loss.

Known answers come from outside the code under test: analytic surfaces written into
small GeoTIFFs made here (elevations at a point are the formula's value there),
path positions from pyproj's own geodesic (``Geod.inv``/``Geod.npts``), and the
ITU-R P.526-15 single knife-edge formulas (eq. 26 for ν, eq. 31 for J(ν)) evaluated
with scalar ``math`` in this file, with the Earth bulge d1·d2 / (2·k·a), k = 4/3,
a = 6371 km.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import Geod, Transformer

from covgap.errors import CRSError, InputFileError, ScenarioError
from covgap.itm import itm_p2p_db
from covgap.terrain import (
    fresnel_kirchhoff_nu,
    knife_edge_j_db,
    knife_edge_loss_db,
    line_of_sight,
    open_dem,
    sample_profiles,
    terrain_path_loss_db,
)

GEOD = Geod(ellps="WGS84")
ARCSEC = 1.0 / 3600.0
LON0, LAT0 = 104.0, 22.0  # Lào Cai / Tuyên Quang area, UTM zone 48N
HILL_M, BASE_M, SIGMA_M = 400.0, 150.0, 1500.0
AE_M = 4.0 / 3.0 * 6_371_000.0  # effective Earth radius, k = 4/3
C = 299_792_458.0

PROFILE_TOL_M = 0.05  # bilinear error on a 1"/30 m grid of this hill + path-position error
DB_TOL = 0.01


def hill_m(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The analytic surface: a Gaussian hill at (LON0, LAT0) on a 150 m plain."""
    x = (np.asarray(lon) - LON0) * 111_320.0 * math.cos(math.radians(LAT0))
    y = (np.asarray(lat) - LAT0) * 110_574.0
    return BASE_M + HILL_M * np.exp(-(x * x + y * y) / (2.0 * SIGMA_M**2))


def write_geographic(
    path: Path,
    surface: Callable[[np.ndarray, np.ndarray], np.ndarray],
    *,
    west: float = LON0 - 0.05,
    north: float = LAT0 + 0.05,
    size: int = 360,
    dtype: str = "float32",
    nodata: float | None = -9999.0,
    hole: tuple[slice, slice] | None = None,
) -> Path:
    """A 1-arc-second EPSG:4326 GeoTIFF of ``surface`` sampled at pixel centres."""
    lon = west + (np.arange(size) + 0.5) * ARCSEC
    lat = north - (np.arange(size) + 0.5) * ARCSEC
    lon2, lat2 = np.meshgrid(lon, lat)
    z = surface(lon2, lat2).astype(dtype)
    if hole is not None:
        z[hole] = nodata
    with rasterio.open(
        path, "w", driver="GTiff", width=size, height=size, count=1, dtype=dtype,
        crs="EPSG:4326", transform=from_origin(west, north, ARCSEC, ARCSEC), nodata=nodata,
    ) as dst:  # fmt: skip
        dst.write(z, 1)
    return path


def write_utm(path: Path, surface: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Path:
    """The same surface on a 30 m UTM 48N (EPSG:32648) grid covering the same area."""
    fwd = Transformer.from_crs("EPSG:4326", "EPSG:32648", always_xy=True)
    xs, ys = fwd.transform([LON0 - 0.05, LON0 + 0.05], [LAT0 - 0.05, LAT0 + 0.05])
    west, east = math.floor(min(xs)) - 60.0, math.ceil(max(xs)) + 60.0
    south, north = math.floor(min(ys)) - 60.0, math.ceil(max(ys)) + 60.0
    res = 30.0
    w, h = int((east - west) / res), int((north - south) / res)
    e = west + (np.arange(w) + 0.5) * res
    n = north - (np.arange(h) + 0.5) * res
    e2, n2 = np.meshgrid(e, n)
    lon, lat = Transformer.from_crs("EPSG:32648", "EPSG:4326", always_xy=True).transform(e2, n2)
    z = surface(lon, lat).astype("float32")
    with rasterio.open(
        path, "w", driver="GTiff", width=w, height=h, count=1, dtype="float32",
        crs="EPSG:32648", transform=from_origin(west, north, res, res), nodata=-9999.0,
    ) as dst:  # fmt: skip
        dst.write(z, 1)
    return path


def geodesic_points(lon0: float, lat0: float, lon1: float, lat1: float, step_m: float):
    """pyproj's own answer: n = ceil(d / step) + 1 equally spaced geodesic points."""
    _, _, d = GEOD.inv(lon0, lat0, lon1, lat1)
    n = math.ceil(d / step_m) + 1
    mid = GEOD.npts(lon0, lat0, lon1, lat1, n - 2)
    lon = np.array([lon0] + [p[0] for p in mid] + [lon1])
    lat = np.array([lat0] + [p[1] for p in mid] + [lat1])
    return d, n, lon, lat


def nu_hand(z: float, d1: float, d2: float, ha: float, hb: float, f_mhz: float) -> float:
    """P.526 eq. 26 for a point of ground height z between ends at heights ha, hb."""
    d = d1 + d2
    h = z + d1 * d2 / (2.0 * AE_M) - (ha + (hb - ha) * d1 / d)
    lam = C / (f_mhz * 1e6)
    return h * math.sqrt(2.0 * d / (lam * d1 * d2))


def j_hand(nu: float) -> float:
    """P.526 eq. 31."""
    if nu <= -0.78:
        return 0.0
    return 6.9 + 20.0 * math.log10(math.sqrt((nu - 0.1) ** 2 + 1.0) + nu - 0.1)


def from_origin(west: float, north: float, xres: float, yres: float) -> Affine:
    """North-up geotransform (rasterio's ``from_origin`` without its deprecated ``*``)."""
    return Affine(xres, 0.0, west, 0.0, -yres, north)


def pfl(elev: list[float] | np.ndarray, step_m: float) -> np.ndarray:
    e = np.asarray(elev, dtype=float)
    return np.concatenate([[e.size - 1, step_m], e])


@pytest.fixture(scope="module")
def hill_dem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_geographic(tmp_path_factory.mktemp("dem") / "hill_4326.tif", hill_m)


@pytest.fixture(scope="module")
def hill_dem_utm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_utm(tmp_path_factory.mktemp("dem") / "hill_32648.tif", hill_m)


# --------------------------------------------------------------------------- DEM handle


def test_open_dem_describes_the_raster(hill_dem: Path, hill_dem_utm: Path) -> None:
    dem = open_dem(hill_dem)
    assert dem.is_wgs84_lonlat and dem.crs.to_epsg() == 4326
    assert (dem.width, dem.height) == (360, 360)
    assert dem.nodata == -9999.0
    assert dem.bounds_lonlat == pytest.approx((LON0 - 0.05, LAT0 - 0.05, LON0 + 0.05, LAT0 + 0.05))
    utm = open_dem(hill_dem_utm)
    assert not utm.is_wgs84_lonlat and utm.crs.to_epsg() == 32648
    w, s, e, n = utm.bounds_lonlat  # the UTM grid was built to contain the 4326 one
    assert w < LON0 - 0.05 and s < LAT0 - 0.05 and e > LON0 + 0.05 and n > LAT0 + 0.05


def test_open_dem_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.tif"
    with pytest.raises(InputFileError, match="not found") as info:
        open_dem(missing)
    assert info.value.file == str(missing)
    with pytest.raises(InputFileError, match="folder"):
        open_dem(tmp_path)
    junk = tmp_path / "junk.tif"
    junk.write_text("village_id,name\n1,Bản Phố\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="not a readable raster") as info:
        open_dem(junk)
    assert str(junk) in info.value.line()
    bare = tmp_path / "no_crs.tif"
    with rasterio.open(
        bare, "w", driver="GTiff", width=4, height=4, count=1, dtype="float32",
        transform=from_origin(104.0, 22.0, ARCSEC, ARCSEC),
    ) as dst:  # fmt: skip
        dst.write(np.zeros((4, 4), dtype="float32"), 1)
    with pytest.raises(CRSError, match="no coordinate reference system") as info:
        open_dem(bare)
    assert info.value.file == str(bare)


# --------------------------------------------------------------------------- profiles


@pytest.mark.parametrize(
    "end",
    [(LON0, LAT0 + 0.04), (LON0 + 0.04, LAT0 + 0.03), (LON0 - 0.03, LAT0 + 0.01)],
    ids=["meridian-over-the-top", "diagonal", "westward"],
)
def test_profile_heights_are_the_surface_along_the_geodesic(
    hill_dem: Path, end: tuple[float, float]
) -> None:
    start = (LON0, LAT0 - 0.04) if end[1] > LAT0 + 0.02 else (LON0 + 0.02, LAT0 - 0.02)
    d, n, lon, lat = geodesic_points(*start, *end, 30.0)
    prof = sample_profiles(open_dem(hill_dem), start[0], start[1], end[0], end[1], step_m=30.0)
    row = prof.pfl[0]
    assert prof.covered.tolist() == [True]
    assert prof.distance_m[0] == pytest.approx(d, abs=1e-6)
    assert int(row[0]) == n - 1
    assert row[1] == pytest.approx(d / (n - 1), rel=1e-12)
    assert row[2 : 2 + n] == pytest.approx(hill_m(lon, lat), abs=PROFILE_TOL_M)
    assert np.isnan(row[2 + n :]).all()


def test_meridian_path_crosses_the_hilltop(hill_dem: Path) -> None:
    # straight over the summit: the highest sample is the hilltop, 150 + 400 m
    prof = sample_profiles(open_dem(hill_dem), LON0, LAT0 - 0.03, LON0, LAT0 + 0.03)
    assert np.nanmax(prof.pfl[0, 2:]) == pytest.approx(BASE_M + HILL_M, abs=0.1)


def test_many_paths_padded_to_the_longest(hill_dem: Path) -> None:
    rx_lon = np.array([LON0 + 0.01, LON0 + 0.03, LON0 - 0.02])
    rx_lat = np.array([LAT0, LAT0 + 0.02, LAT0 - 0.03])
    prof = sample_profiles(open_dem(hill_dem), LON0, LAT0, rx_lon, rx_lat, step_m=50.0)
    for i in range(3):
        _, n, lon, lat = geodesic_points(LON0, LAT0, rx_lon[i], rx_lat[i], 50.0)
        assert prof.n_points[i] == n
        assert prof.pfl[i, 2 : 2 + n] == pytest.approx(hill_m(lon, lat), abs=PROFILE_TOL_M)
    assert prof.pfl.shape == (3, 2 + prof.n_points.max())


def test_max_points_caps_the_profile(hill_dem: Path) -> None:
    prof = sample_profiles(
        open_dem(hill_dem), LON0, LAT0 - 0.04, LON0, LAT0 + 0.04, step_m=30.0, max_points=101
    )
    _, _, d = GEOD.inv(LON0, LAT0 - 0.04, LON0, LAT0 + 0.04)
    assert prof.n_points[0] == 101
    assert prof.step_m[0] == pytest.approx(d / 100.0)


def test_utm_dem_gives_the_same_profile(hill_dem: Path, hill_dem_utm: Path) -> None:
    ends = dict(tx_lon=LON0 - 0.03, tx_lat=LAT0 - 0.02, rx_lon=LON0 + 0.035, rx_lat=LAT0 + 0.025)
    geo = sample_profiles(open_dem(hill_dem), **ends)
    utm = sample_profiles(open_dem(hill_dem_utm), **ends)
    assert utm.covered.tolist() == [True]
    assert utm.pfl[0, :2] == pytest.approx(geo.pfl[0, :2])
    # each within PROFILE_TOL_M of the analytic surface, hence of each other
    assert utm.pfl[0] == pytest.approx(geo.pfl[0], abs=2 * PROFILE_TOL_M, nan_ok=True)


def test_only_a_window_is_read(hill_dem: Path) -> None:
    # a 1 km path in the north-west corner of a 360 × 360 raster
    lon0, lat0 = LON0 - 0.045, LAT0 + 0.045
    prof = sample_profiles(open_dem(hill_dem), lon0, lat0, lon0 + 0.007, lat0 - 0.005)
    win = prof.window
    assert win is not None
    # the path spans 0.007° × 0.005° = 25.2 × 18 pixels; + 2-pixel margins each side
    assert (win.width, win.height) in {(w, h) for w in (29, 30) for h in (22, 23)}
    assert win.col_off == 16 and win.row_off == 16  # 0.005° = 18 px in, minus the margin
    assert win.width * win.height < 0.01 * 360 * 360


def test_nodata_and_outside_are_not_covered(tmp_path: Path) -> None:
    # int16 with the SRTM nodata value; a 20 × 20 px hole at rows/cols 100–119
    dem = open_dem(
        write_geographic(
            tmp_path / "holey.tif",
            hill_m,
            dtype="int16",
            nodata=-32768,
            hole=(slice(100, 120), slice(100, 120)),
        )
    )
    west, north = LON0 - 0.05, LAT0 + 0.05
    hole_lat = north - 110 * ARCSEC
    tx_lon = np.array([west + 50 * ARCSEC, west + 50 * ARCSEC, LON0, LON0])
    tx_lat = np.array([hole_lat, hole_lat, LAT0, LAT0])
    rx_lon = np.array([west + 200 * ARCSEC, west + 90 * ARCSEC, LON0 + 0.06, LON0 + 0.02])
    rx_lat = np.array([hole_lat, hole_lat, LAT0, LAT0 + 0.01])
    prof = sample_profiles(dem, tx_lon, tx_lat, rx_lon, rx_lat)
    # across the hole; short of it; leaving the raster (east edge at LON0 + 0.05); inside
    assert prof.covered.tolist() == [False, True, False, True]
    assert np.isnan(prof.pfl[0]).any() and np.isnan(prof.pfl[2]).any()
    n = prof.n_points[3]
    assert not np.isnan(prof.pfl[3, 2 : 2 + n]).any()


# --------------------------------------------------------------------------- knife edges


def test_nu_and_j_against_p526() -> None:
    # eq. 26 by hand: h 10 m, d1 2 km, d2 3 km, 900 MHz
    lam = C / 900e6
    assert fresnel_kirchhoff_nu(10.0, 2000.0, 3000.0, 900.0) == pytest.approx(
        10.0 * math.sqrt(2.0 * 5000.0 / (lam * 2000.0 * 3000.0)), rel=1e-12
    )
    # J(0) is the grazing-incidence 6 dB of P.526's Fig. 9 (6.03 dB by eq. 31)
    assert knife_edge_j_db(0.0) == pytest.approx(6.0, abs=0.05)
    nus = np.array([-2.0, -0.78, -0.5, 0.0, 0.7, 1.5, 3.0])
    assert knife_edge_j_db(nus) == pytest.approx([j_hand(v) for v in nus], abs=1e-12)


def test_single_knife_edge_matches_hand_computation() -> None:
    # 10 km at 100 m, flat sea-level ground, a 60 m edge 4 km from the transmitter
    step, n, k = 100.0, 101, 40
    elev = np.zeros(n)
    elev[k] = 60.0
    h_tx, h_rx, f = 30.0, 10.0, 900.0
    d = (n - 1) * step
    nu = nu_hand(60.0, k * step, d - k * step, h_tx, h_rx, f)
    assert nu == pytest.approx(1.971, abs=0.001)  # the hand value, bulge 1.41 m included
    # every other point (tx → edge top, edge top → rx) stays below ν = −0.78
    others = [nu_hand(0.0, j * step, (k - j) * step, h_tx, 60.0, f) for j in range(1, k)]
    others += [nu_hand(0.0, (j - k) * step, (n - j - 1) * step, 60.0, h_rx, f) for j in range(k + 1, n - 1)]  # fmt: skip  # noqa: E501
    assert max(others) < -0.78
    expected = j_hand(nu)
    for method in ("deygout", "epstein_peterson"):
        got = knife_edge_loss_db(pfl(elev, step), h_tx, h_rx, f, method=method)
        assert got[0] == pytest.approx(expected, abs=DB_TOL)
    assert line_of_sight(pfl(elev, step), h_tx, h_rx).tolist() == [False]


def test_two_ridges_deygout_and_epstein_peterson() -> None:
    step, n = 100.0, 101
    i1, z1, i2, z2 = 30, 55.0, 70, 50.0
    elev = np.zeros(n)
    elev[i1], elev[i2] = z1, z2
    h_tx, h_rx, f = 30.0, 10.0, 1800.0
    d = (n - 1) * step
    nu1 = nu_hand(z1, i1 * step, d - i1 * step, h_tx, h_rx, f)
    nu2 = nu_hand(z2, i2 * step, d - i2 * step, h_tx, h_rx, f)
    assert nu2 > nu1  # the second ridge is the main edge
    # Deygout: main edge, then ridge 1 against the chord transmitter → ridge-2 top
    nu1_sub = nu_hand(z1, i1 * step, (i2 - i1) * step, h_tx, z2, f)
    deygout = j_hand(nu2) + j_hand(nu1_sub)
    # Epstein–Peterson: ridge 1 against tx → ridge-2 top, ridge 2 against ridge-1 top → rx
    nu2_ep = nu_hand(z2, (i2 - i1) * step, d - i2 * step, z1, h_rx, f)
    ep = j_hand(nu1_sub) + j_hand(nu2_ep)
    single = j_hand(nu2)
    p = pfl(elev, step)
    got_d = knife_edge_loss_db(p, h_tx, h_rx, f, method="deygout")[0]
    got_ep = knife_edge_loss_db(p, h_tx, h_rx, f, method="epstein_peterson")[0]
    assert got_d == pytest.approx(deygout, abs=DB_TOL)
    assert got_ep == pytest.approx(ep, abs=DB_TOL)
    assert got_d >= single + 5.0  # the second edge adds its own loss
    assert got_d > got_ep  # Deygout's known overestimate for two comparable edges


def test_flat_terrain_is_clear() -> None:
    # 5 km over flat ground at 200 m: bulge at mid-path 0.37 m, ray 20 m above mid-path,
    # first Fresnel zone there 20.4 m at 900 MHz → ν ≈ −1.36 everywhere at most
    p = pfl(np.full(167, 200.0), 5000.0 / 166)
    assert knife_edge_loss_db(p, 30.0, 10.0, 900.0).tolist() == [0.0]
    assert knife_edge_loss_db(p, 30.0, 10.0, 900.0, method="epstein_peterson").tolist() == [0.0]
    assert line_of_sight(p, 30.0, 10.0).tolist() == [True]
    assert line_of_sight(p, 30.0, 10.0, freq_mhz=900.0, fresnel_fraction=0.6).tolist() == [True]


def test_earth_bulge_blocks_long_flat_paths() -> None:
    # bulge at mid-path d²/(8·k·a): 40 km → 23.5 m, 20 km → 5.9 m; antennas 10 m both ends
    long = pfl(np.zeros(401), 100.0)
    short = pfl(np.zeros(201), 100.0)
    assert line_of_sight(long, 10.0, 10.0).tolist() == [False]
    assert line_of_sight(short, 10.0, 10.0).tolist() == [True]
    # ... but not 60 % of the first Fresnel zone at 900 MHz (r1 = 40.8 m at mid-path)
    assert line_of_sight(short, 10.0, 10.0, freq_mhz=900.0).tolist() == [False]
    # with a flat Earth (k → ∞) the 40 km path is clear
    assert line_of_sight(long, 10.0, 10.0, k_factor=1e12).tolist() == [True]
    nu_mid = nu_hand(0.0, 20_000.0, 20_000.0, 10.0, 10.0, 900.0)
    assert knife_edge_loss_db(long, 10.0, 10.0, 900.0)[0] >= j_hand(nu_mid) - DB_TOL


def test_knife_edge_batch_nan_and_bad_arguments() -> None:
    good = pfl(np.zeros(11), 100.0)
    bad = good.copy()
    bad[6] = np.nan
    out = knife_edge_loss_db(np.stack([good, bad]), 30.0, 1.5, [900.0, 900.0])
    assert out[0] == 0.0 and np.isnan(out[1])
    assert line_of_sight(np.stack([good, bad]), 30.0, 1.5).tolist() == [True, False]
    with pytest.raises(ScenarioError, match="method"):
        knife_edge_loss_db(good, 30.0, 1.5, 900.0, method="bullington")
    with pytest.raises(ValueError, match="freq_mhz"):
        knife_edge_loss_db(good, 30.0, 1.5, 0.0)


# --------------------------------------------------------------------------- path loss


def test_itm_through_terrain_equals_itm_directly(hill_dem: Path) -> None:
    dem = open_dem(hill_dem)
    tx = (LON0 - 0.035, LAT0 - 0.03)
    rx_lon = np.array([LON0 + 0.03, LON0 + 0.01, LON0 - 0.01])
    rx_lat = np.array([LAT0 + 0.035, LAT0 + 0.04, LAT0 - 0.035])
    loss, covered = terrain_path_loss_db(
        dem, tx[0], tx[1], 35.0, rx_lon, rx_lat, 1.5, 900.0, climate=5, time_pct=50.0
    )
    assert covered.tolist() == [True, True, True]
    for i in range(3):
        # the profile ITM saw is the analytic surface along pyproj's geodesic
        _, n, lon, lat = geodesic_points(tx[0], tx[1], rx_lon[i], rx_lat[i], 30.0)
        prof = sample_profiles(dem, tx[0], tx[1], rx_lon[i], rx_lat[i])
        assert prof.pfl[0, 2 : 2 + n] == pytest.approx(hill_m(lon, lat), abs=PROFILE_TOL_M)
        direct = itm_p2p_db(prof.pfl[0, : 2 + n], 35.0, 1.5, 900.0, climate=5, time_pct=50.0)
        assert loss[i] == pytest.approx(direct.loss_db, abs=1e-9)
    # knife-edge model: free space (P.525) + the diffraction screen on the same profile
    ke, ke_cov = terrain_path_loss_db(
        dem, tx[0], tx[1], 35.0, rx_lon, rx_lat, 1.5, 900.0, model="knife_edge"
    )
    assert ke_cov.all()
    prof = sample_profiles(dem, tx[0], tx[1], rx_lon, rx_lat)
    fspl = 32.45 + 20 * np.log10(900.0) + 20 * np.log10(prof.distance_m / 1000.0)
    assert ke == pytest.approx(fspl + knife_edge_loss_db(prof.pfl, 35.0, 1.5, 900.0), abs=1e-9)


def test_village_behind_the_hill_loses_more(hill_dem: Path) -> None:
    # tower at the foot of the hill on the south side, villages 7.7 km away
    dem = open_dem(hill_dem)
    tx_lon, tx_lat = LON0, LAT0 - 0.035
    rx_lon = np.array([LON0, LON0 + 0.045])  # behind the summit / beside the hill
    rx_lat = np.array([LAT0 + 0.035, LAT0 - 0.005])
    ke = knife_edge_loss_db(
        sample_profiles(dem, tx_lon, tx_lat, rx_lon, rx_lat).pfl, 30.0, 1.5, 900.0
    )
    assert ke[0] > 30.0 and ke[1] < ke[0] - 20.0
    itm, _ = terrain_path_loss_db(dem, tx_lon, tx_lat, 30.0, rx_lon, rx_lat, 1.5, 900.0)
    assert itm[0] > itm[1] + 20.0


def test_partial_coverage_gives_nan_and_false(hill_dem: Path) -> None:
    dem = open_dem(hill_dem)
    rx_lon = np.array([LON0 + 0.02, LON0 + 0.2, LON0, LON0 + 0.01])
    rx_lat = np.array([LAT0, LAT0, LAT0 - 0.01, LAT0 + 0.01])
    tx_lon = np.array([LON0, LON0, LON0, np.nan])
    loss, covered = terrain_path_loss_db(dem, tx_lon, LAT0 - 0.01, 30.0, rx_lon, rx_lat, 1.5, 900.0)
    # inside; leaving the DEM; zero-length (tower on the village); no coordinates
    assert covered.tolist() == [True, False, False, False]
    assert np.isfinite(loss[0]) and np.isnan(loss[1:]).all()


def test_batching_does_not_change_the_answer(hill_dem: Path) -> None:
    # many tiny tiles and 3-path batches (window reads, reuse and misses) vs one batch
    rng = np.random.default_rng(7)
    tx_lon = rng.uniform(LON0 - 0.04, LON0 + 0.04, 40)
    tx_lat = rng.uniform(LAT0 - 0.04, LAT0 + 0.04, 40)
    rx_lon = rng.uniform(LON0 - 0.045, LON0 + 0.045, 40)
    rx_lat = rng.uniform(LAT0 - 0.045, LAT0 + 0.045, 40)
    dem = open_dem(hill_dem)
    args = (dem, tx_lon, tx_lat, 30.0, rx_lon, rx_lat, 1.5, 1800.0)
    whole = terrain_path_loss_db(*args, chunk_paths=1000, tile_deg=10.0)
    small = terrain_path_loss_db(*args, chunk_paths=3, tile_deg=0.01)
    assert whole.covered.all() and small.covered.all()
    assert small.loss_db == pytest.approx(whole.loss_db, abs=1e-9)


def test_dem_covering_nothing_is_an_error_naming_it(hill_dem: Path) -> None:
    dem = open_dem(hill_dem)
    with pytest.raises(InputFileError, match=r"hill_4326\.tif covers none of the area") as info:
        terrain_path_loss_db(dem, 106.0, 10.8, 30.0, [106.1, 106.05], [10.8, 10.9], 1.5, 900.0)
    assert info.value.file == str(hill_dem)
    assert info.value.line().startswith(f"error: {hill_dem}: DEM hill_4326.tif covers none")
    empty = terrain_path_loss_db(dem, [], [], 30.0, [], [], 1.5, 900.0)
    assert empty.loss_db.size == 0 and empty.covered.size == 0


def test_dem_with_data_on_none_of_the_paths_is_an_error(tmp_path: Path) -> None:
    # both paths lie on the raster, but across its nodata band (rows 100–119)
    path = write_geographic(
        tmp_path / "band.tif", hill_m, hole=(slice(100, 120), slice(None, None))
    )
    lat_band = LAT0 + 0.05 - 110 * ARCSEC
    with pytest.raises(InputFileError, match=r"band\.tif covers none of the area"):
        terrain_path_loss_db(
            open_dem(path), LON0, lat_band - 0.01, 30.0, [LON0, LON0 + 0.01],
            [lat_band + 0.01, lat_band + 0.02], 1.5, 900.0,
        )  # fmt: skip


def test_terrain_settings_are_checked(hill_dem: Path) -> None:
    dem = open_dem(hill_dem)
    with pytest.raises(ScenarioError, match="model"):
        terrain_path_loss_db(dem, LON0, LAT0, 30.0, LON0, LAT0 + 0.01, 1.5, 900.0, model="hata")
    with pytest.raises(ScenarioError, match="step_m"):
        sample_profiles(dem, LON0, LAT0, LON0, LAT0 + 0.01, step_m=0.0)
