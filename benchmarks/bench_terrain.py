"""Terrain benchmark: knife-edge screen, profile sampling, terrain path loss (DESIGN §4, §9).

Run from anywhere but the project root (``import coverage`` must stay coverage.py)::

    cd /tmp && /work/main/.venv/bin/python /work/main/benchmarks/bench_terrain.py

Floor: the knife-edge screen (``covgap.terrain.knife_edge_loss_db``) at ≥ 100,000
paths/s on 30 km profiles at 30 m steps (1,001 points), on the machine's cores.
Figures are printed with the machine, never asserted. Not run by CI.

Workload (seeded, generator seed 2025):

- knife edges: 16,384 profiles of 30 km at 30 m, mountain-like terrain (a 300–1,500 m
  base, three sinusoidal ridges of 2–15 km wavelength and up to 200 m amplitude each,
  plus a random walk of 1 m steps), transmitter 15–60 m, receiver 1.5 m, a frequency
  from {700, 900, 1800, 2100, 2600} MHz. Deygout and Epstein–Peterson are timed whole
  (argument checks included) after a warm-up call, best of 7 runs, with numba's
  threads (the machine's cores) and with one thread; optical line of sight too;
- baselines: the same Deygout written as a per-path loop of plain numpy (vectorised
  within a path) and as pure Python, on the first 300 and 30 paths, best of 3; the
  baselines' answers are compared with the kernel's (they are independent code);
- profile sampling (``sample_profiles``): 4,096 paths of 30 km from random points of a
  synthetic 0.833° × 0.833° 1-arc-second DEM (3,000 × 3,000 float32 GeoTIFF, tiled,
  deflate) written to a temporary folder, and of the same grid labelled UTM 48N
  (EPSG:32648, 30 m pixels) so each point also goes through pyproj; best of 3;
- ``terrain_path_loss_db`` end to end (window reads, sampling, model) with ITM and
  knife edges on 16,384 pipeline-like pairs: 256 towers on the EPSG:4326 DEM with 64
  villages each at 1–20 km, best of 3.
"""

from __future__ import annotations

import math
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
import numpy as np
import rasterio
from affine import Affine
from pyproj import Geod

from covgap.terrain import (
    EARTH_RADIUS_M,
    K_FACTOR_STANDARD,
    knife_edge_loss_db,
    line_of_sight,
    open_dem,
    sample_profiles,
    terrain_path_loss_db,
)

SEED = 2025
N_PATHS = 16_384
PATH_M = 30_000.0
STEP_M = 30.0
FREQS_MHZ = np.array([700.0, 900.0, 1800.0, 2100.0, 2600.0])
FLOOR_PATHS_S = 100_000.0
C_M_PER_S = 299_792_458.0
DEM_PX = 3000  # sampling DEM: 3,000 × 3,000 pixels (0.833° at 1", 90 km at 30 m)


def _best(fn: Callable[[], Any], runs: int) -> float:
    best = math.inf
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _profiles(rng: np.random.Generator, n_paths: int) -> np.ndarray:
    n = int(PATH_M / STEP_M) + 1
    x = np.arange(n) * STEP_M
    z = rng.uniform(300.0, 1500.0, (n_paths, 1)) + np.zeros((1, n))
    for _ in range(3):
        wl = rng.uniform(2000.0, 15000.0, (n_paths, 1))
        amp = rng.uniform(0.0, 200.0, (n_paths, 1))
        ph = rng.uniform(0.0, 2 * math.pi, (n_paths, 1))
        z += amp * np.sin(2 * math.pi * x / wl + ph)
    z += np.cumsum(rng.normal(0.0, 1.0, (n_paths, n)), axis=1)
    pfl = np.empty((n_paths, n + 2))
    pfl[:, 0] = n - 1
    pfl[:, 1] = STEP_M
    pfl[:, 2:] = z
    return pfl


# ---------------------------------------------------------------- baselines (Deygout)


def _j_db(nu: float) -> float:
    if nu <= -0.78:
        return 0.0
    return 6.9 + 20.0 * math.log10(math.sqrt((nu - 0.1) ** 2 + 1.0) + nu - 0.1)


def _deygout_numpy(z: np.ndarray, step: float, ha: float, hb: float, lam: float) -> float:
    inv_2ka = 1.0 / (2.0 * K_FACTOR_STANDARD * EARTH_RADIUS_M)

    def main(i0: int, i1: int, a: float, b: float) -> tuple[int, float]:
        j = np.arange(i0 + 1, i1)
        if j.size == 0:
            return -1, -math.inf
        d1 = (j - i0) * step
        d2 = (i1 - j) * step
        h = z[j] + d1 * d2 * inv_2ka - (a + (b - a) * d1 / (d1 + d2))
        nu = h * np.sqrt(2.0 * (d1 + d2) / (lam * d1 * d2))
        k = int(np.argmax(nu))
        return int(j[k]), float(nu[k])

    last = z.size - 1
    jm, nu_m = main(0, last, ha, hb)
    if jm < 0 or nu_m <= -0.78:
        return 0.0
    _, nu_t = main(0, jm, ha, float(z[jm]))
    _, nu_r = main(jm, last, float(z[jm]), hb)
    return _j_db(nu_m) + _j_db(nu_t) + _j_db(nu_r)


def _deygout_python(z: list[float], step: float, ha: float, hb: float, lam: float) -> float:
    inv_2ka = 1.0 / (2.0 * K_FACTOR_STANDARD * EARTH_RADIUS_M)

    def main(i0: int, i1: int, a: float, b: float) -> tuple[int, float]:
        best_j, best_nu = -1, -math.inf
        for j in range(i0 + 1, i1):
            d1 = (j - i0) * step
            d2 = (i1 - j) * step
            h = z[j] + d1 * d2 * inv_2ka - (a + (b - a) * d1 / (d1 + d2))
            nu = h * math.sqrt(2.0 * (d1 + d2) / (lam * d1 * d2))
            if nu > best_nu:
                best_j, best_nu = j, nu
        return best_j, best_nu

    last = len(z) - 1
    jm, nu_m = main(0, last, ha, hb)
    if jm < 0 or nu_m <= -0.78:
        return 0.0
    _, nu_t = main(0, jm, ha, z[jm])
    _, nu_r = main(jm, last, z[jm], hb)
    return _j_db(nu_m) + _j_db(nu_t) + _j_db(nu_r)


# ---------------------------------------------------------------- DEM for sampling


def _write_dem(path: Path, rng: np.random.Generator, crs: str, transform: Affine) -> None:
    size = DEM_PX
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    z = np.full((size, size), 800.0)
    for _ in range(8):
        kx, ky = rng.uniform(-0.05, 0.05, 2)
        z += rng.uniform(50.0, 300.0) * np.sin(kx * xx + ky * yy + rng.uniform(0, 6.3))
    with rasterio.open(
        path, "w", driver="GTiff", width=size, height=size, count=1, dtype="float32",
        crs=crs, transform=transform, nodata=-32768.0, tiled=True, blockxsize=256,
        blockysize=256, compress="deflate",
    ) as dst:  # fmt: skip
        dst.write(z.astype(np.float32), 1)


def _random_paths(
    rng: np.random.Generator, n: int, west: float, south: float, span: float
) -> tuple[np.ndarray, ...]:
    geod = Geod(ellps="WGS84")
    margin = 0.3  # 30 km ≈ 0.27° of latitude: keep both ends on the DEM
    tx_lon = rng.uniform(west + margin, west + span - margin, n)
    tx_lat = rng.uniform(south + margin, south + span - margin, n)
    az = rng.uniform(0.0, 360.0, n)
    rx_lon, rx_lat, _ = geod.fwd(tx_lon, tx_lat, az, np.full(n, PATH_M))
    return tx_lon, tx_lat, np.asarray(rx_lon), np.asarray(rx_lat)


def main() -> int:
    rng = np.random.default_rng(SEED)
    threads = numba.get_num_threads()
    print("covgap terrain benchmark")
    print(f"  machine: {platform.platform()}; {platform.processor() or platform.machine()}")
    print(
        f"  cpu count: {os.cpu_count()}; numba threads: {threads}; python {sys.version.split()[0]}"
    )
    print(f"  numba {numba.__version__}, numpy {np.__version__}, rasterio {rasterio.__version__} "
          f"(GDAL {rasterio.__gdal_version__})")  # fmt: skip
    if hasattr(os, "getloadavg"):
        print("  load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))

    # ------------------------------------------------------------ knife edges
    pfl = _profiles(rng, N_PATHS)
    h_tx = rng.uniform(15.0, 60.0, N_PATHS)
    h_rx = np.full(N_PATHS, 1.5)
    freq = rng.choice(FREQS_MHZ, N_PATHS)
    n_pts = pfl.shape[1] - 2
    print(f"\nknife-edge screen: {N_PATHS:,} profiles of {PATH_M / 1000:.0f} km at "
          f"{STEP_M:.0f} m ({n_pts:,} points)")  # fmt: skip
    t0 = time.perf_counter()
    knife_edge_loss_db(pfl[:4], h_tx[:4], h_rx[:4], freq[:4])
    knife_edge_loss_db(pfl[:4], h_tx[:4], h_rx[:4], freq[:4], method="epstein_peterson")
    line_of_sight(pfl[:4], h_tx[:4], h_rx[:4])
    print(f"  first calls (numba compile or cache load): {time.perf_counter() - t0:.2f} s")
    rates: dict[str, float] = {}
    loss: dict[str, np.ndarray] = {}
    for n_threads in (threads, 1):
        numba.set_num_threads(n_threads)
        for method in ("deygout", "epstein_peterson"):
            t = _best(lambda m=method: knife_edge_loss_db(pfl, h_tx, h_rx, freq, method=m), 7)
            rates[f"{method}/{n_threads}"] = N_PATHS / t
            loss[method] = knife_edge_loss_db(pfl, h_tx, h_rx, freq, method=method)
            print(f"  {method:17s} {n_threads} thread(s): {N_PATHS / t:12,.0f} paths/s")
        t = _best(lambda: line_of_sight(pfl, h_tx, h_rx), 7)
        print(f"  {'line of sight':17s} {n_threads} thread(s): {N_PATHS / t:12,.0f} paths/s")
    numba.set_num_threads(threads)
    dey = rates[f"deygout/{threads}"]
    verdict = "met" if dey >= FLOOR_PATHS_S else "NOT met"
    print(f"  floor {FLOOR_PATHS_S:,.0f} paths/s (Deygout, {threads} threads): {verdict}")
    d = loss["deygout"]
    print(f"  Deygout loss over the set: median {np.median(d):.1f} dB, "
          f"{np.mean(d > 0):.0%} of paths obstructed; Epstein–Peterson median "
          f"{np.median(loss['epstein_peterson']):.1f} dB")  # fmt: skip

    lam = C_M_PER_S / (freq * 1e6)
    ha = pfl[:, 2] + h_tx
    hb = pfl[:, -1] + h_rx
    n_np, n_py = 300, 30
    t_np = _best(
        lambda: [_deygout_numpy(pfl[i, 2:], STEP_M, ha[i], hb[i], lam[i]) for i in range(n_np)],
        3,
    )
    rows = [pfl[i, 2:].tolist() for i in range(n_py)]
    t_py = _best(
        lambda: [_deygout_python(rows[i], STEP_M, ha[i], hb[i], lam[i]) for i in range(n_py)], 3
    )
    ref_np = np.array(
        [_deygout_numpy(pfl[i, 2:], STEP_M, ha[i], hb[i], lam[i]) for i in range(n_np)]
    )
    ref_py = np.array([_deygout_python(rows[i], STEP_M, ha[i], hb[i], lam[i]) for i in range(n_py)])
    r_np, r_py = n_np / t_np, n_py / t_py
    print(f"  baseline, per-path numpy loop ({n_np} paths): {r_np:10,.0f} paths/s → "
          f"kernel {dey / r_np:,.0f}× faster")  # fmt: skip
    print(f"  baseline, pure Python ({n_py} paths):         {r_py:10,.0f} paths/s → "
          f"kernel {dey / r_py:,.0f}× faster")  # fmt: skip
    diff = max(np.abs(ref_np - d[:n_np]).max(), np.abs(ref_py - d[:n_py]).max())
    print(f"  baselines vs kernel: max |Δ| = {diff:.2e} dB")

    # ------------------------------------------------------------ sampling
    with tempfile.TemporaryDirectory(prefix="covgap-bench-terrain-") as tmp:
        west, north, span = 103.5, 22.6, DEM_PX / 3600.0
        res = 1.0 / 3600.0
        geo_path = Path(tmp) / "dem_4326.tif"
        utm_path = Path(tmp) / "dem_32648.tif"
        _write_dem(geo_path, np.random.default_rng(SEED), "EPSG:4326",
                   Affine(res, 0.0, west, 0.0, -res, north))  # fmt: skip
        # the same pixels, labelled UTM 48N at 30 m (90 km square, near the 4326 one)
        _write_dem(utm_path, np.random.default_rng(SEED), "EPSG:32648",
                   Affine(30.0, 0.0, 343_000.0, 0.0, -30.0, 2_500_000.0))  # fmt: skip
        geo = open_dem(geo_path)
        utm = open_dem(utm_path)
        uw, us, ue, un = utm.bounds_lonlat
        n_s = 4096
        print(
            f"\nprofile sampling: {n_s:,} paths of 30 km at 30 m from a {DEM_PX:,} × {DEM_PX:,} DEM"
        )
        for label, dem, box in (
            ("EPSG:4326", geo, (west, north - span, span)),
            ("UTM 48N (pyproj)", utm, (uw, us, min(ue - uw, un - us))),
        ):
            paths = _random_paths(np.random.default_rng(SEED), n_s, *box)
            sample_profiles(dem, *(p[:8] for p in paths))
            t = _best(lambda dem=dem, paths=paths: sample_profiles(dem, *paths), 3)
            prof = sample_profiles(dem, *paths)
            pts = int(prof.n_points.sum())
            win = prof.window
            wtxt = f"window {win.width} × {win.height} px" if win is not None else "no window"
            print(f"  {label:17s}: {n_s / t:10,.0f} paths/s, {pts / t / 1e6:6.1f} M points/s; "
                  f"{prof.covered.mean():.0%} covered; {wtxt}")  # fmt: skip

        # pipeline-like pairs: towers with villages 1–20 km around them
        erng = np.random.default_rng(SEED + 1)
        n_tw, per = 256, 64
        tw_lon = erng.uniform(west + 0.2, west + span - 0.2, n_tw)
        tw_lat = erng.uniform(north - span + 0.2, north - 0.2, n_tw)
        tx_lon, tx_lat = np.repeat(tw_lon, per), np.repeat(tw_lat, per)
        rx_lon, rx_lat, _ = Geod(ellps="WGS84").fwd(
            tx_lon, tx_lat, erng.uniform(0, 360, n_tw * per), erng.uniform(1e3, 2e4, n_tw * per)
        )
        n_e = n_tw * per
        h_tw = np.repeat(erng.uniform(15.0, 60.0, n_tw), per)
        args = (tx_lon, tx_lat, h_tw, np.asarray(rx_lon), np.asarray(rx_lat), 1.5, 900.0)
        print(f"\nterrain_path_loss_db end to end: {n_tw} towers × {per} villages at 1–20 km "
              f"({n_e:,} pairs), EPSG:4326 DEM, window reads included")  # fmt: skip
        for model in ("itm", "knife_edge"):
            terrain_path_loss_db(geo, *(a[:8] if np.ndim(a) else a for a in args), model=model)
            t = _best(lambda m=model: terrain_path_loss_db(geo, *args, model=m), 3)
            print(f"  {model:10s}: {n_e / t:10,.0f} pairs/s ({t:.2f} s)")
    if hasattr(os, "getloadavg"):
        print("\nload average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
