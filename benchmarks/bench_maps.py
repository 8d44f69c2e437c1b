"""Benchmark: the national map, 100 k villages (DESIGN §9; not run by CI).

Data (seeded, synthetic on real places): villages are the 3,321 commune points of
``../shared/data/vn_communes.csv`` jittered by a Gaussian of σ = 0.35·√(commune area),
so they follow Vietnam's real settlement pattern; 88 % covered, 8 % low signal with
power, 4 % without; 120 k tower sites × 3 sectors = 360 k tower rows, scattered the same
way; one planned site per gap village (kinds new / upgrade) with a backhaul link and an
on-air date over 20 weeks (so the time slider and the links layer are in the page too).
Towers are 4G 1800 MHz, 10 MHz, 58 dBm EIRP, three 65° sectors (for the coverage grid).

Figures printed (with the machine):

* covgap's map (``covgap.maps.build_map``): build time, HTML size (every asset is inlined:
  the file is the whole map), first paint in headless Chromium — from navigation start to
  the runtime's ``covgap-ready`` event (every point drawn on the canvas) plus two animation
  frames — and the browser's own first-contentful-paint, median of ``--runs`` loads;
* the same national map with the optional layers of issue #7 added: the predicted 4G
  RSRP grid (``covgap.coverage_grid.coverage_grid`` over the provinces of
  ``../shared/data/vn_provinces34.geojson`` that hold villages, default settings: 500 m
  cells, ≤ 1.5 M cells inside the area) as an image overlay, and the commune outlines of
  ``../shared/data/vn_communes_north_sample.geojson`` (268 communes; the shared data hold
  no national commune polygons): grid time, HTML size, first paint as above (both layers
  off at first, as on a national map), and with the coverage layer switched on at load:
  first paint and the coverage image on screen (its ``load`` event + two frames);
* the map stage of ``covgap run``: the national map and the province maps (every
  province with gap villages) with all those layers and the province boundaries, written
  by ``build_map`` + ``build_province_maps`` (what the run calls) and by ``build_maps``
  (both at once, the inputs prepared once; the bytes are compared), their times and size;
* a naive map: one ``folium.Marker`` per village with a popup and a tooltip (the usual
  folium idiom), on ``--naive`` villages (default 5,000 and 10,000: a 100 k one takes far
  longer than the 10-minute budget to build and load), with Leaflet from the same local
  copy and a three-line ``$`` shim instead of jQuery (folium's popups call ``$``;
  bootstrap and the icon fonts are left out, which only flatters the baseline); its size
  and time at 100 k are extrapolated linearly from the two subsamples (said so), and the
  ratios are given against that.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``), no
network, no extra Python package. Run from outside the repository root, e.g.
``cd /tmp && /work/main/.venv/bin/python /work/main/benchmarks/bench_maps.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import html
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import LineString

from covgap.coverage_grid import GridSettings, analysed_area, coverage_grid, png_bytes
from covgap.io import load_boundaries
from covgap.maps import (
    build_map,
    build_maps,
    build_province_maps,
    coverage_layer_name,
    load_communes,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CHROMIUM = os.environ.get("COVGAP_CHROMIUM", "/usr/bin/chromium")
OPERATORS = ("Viettel", "VNPT", "MobiFone", "Vietnamobile")
KM_PER_DEG = 111.32

# run in the page before any of its scripts: note when the points are on screen
READY_OURS = """
document.addEventListener('covgap-first-paint', function () {
  requestAnimationFrame(function () { requestAnimationFrame(function () {
    window.__benchFirst = performance.now();
  }); });
});
document.addEventListener('covgap-ready', function () {
  requestAnimationFrame(function () { requestAnimationFrame(function () {
    window.__benchReady = performance.now();
  }); });
});
"""
READY_NAIVE = """
window.addEventListener('load', function () {
  requestAnimationFrame(function () { requestAnimationFrame(function () {
    window.__benchFirst = window.__benchReady = performance.now();
  }); });
});
"""
# with the coverage layer switched on at load (before the first paint)
COVERAGE_ON = """
document.addEventListener('DOMContentLoaded', function () {
  covgap.map.addLayer(covgap.layers[%s]);
});
document.addEventListener('covgap-coverage-loaded', function () {
  requestAnimationFrame(function () { requestAnimationFrame(function () {
    window.__benchCoverage = performance.now();
  }); });
});
"""
PROBE = """JSON.stringify({
  first: window.__benchFirst || null,
  ready: window.__benchReady || null,
  coverage: window.__benchCoverage || null,
  fcp: (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || null,
  painted: document.body ? (document.body.dataset.covgapPainted || null) : null,
  markers: document.querySelectorAll('.leaflet-marker-icon').length
})"""


# --------------------------------------------------------------------------- machine


def machine() -> str:
    cpu = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
        mem = f"{kb / 1024**2:.0f} GiB"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        version = subprocess.run(
            [CHROMIUM, "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        version = "not found"
    return (
        f"{platform.system()} {platform.release()}, {cpu}, {cores} cores usable, {mem} RAM, "
        f"Python {platform.python_version()}, folium {folium.__version__}, {version}"
    )


# --------------------------------------------------------------------------- data


def synthetic(
    n_villages: int, n_tower_sites: int, seed: int
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame, pd.DataFrame, gpd.GeoDataFrame]:
    """Villages, towers (3 rows per site), planned sites, their schedule and links."""
    rng = np.random.default_rng(seed)
    communes = pd.read_csv(SHARED / "vn_communes.csv", dtype=str, keep_default_na=False)
    lon0 = communes["lon"].astype(float).to_numpy()
    lat0 = communes["lat"].astype(float).to_numpy()
    sigma_km = 0.35 * np.sqrt(communes["area_km2"].astype(float).clip(lower=1.0).to_numpy())

    def scatter(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pick = rng.integers(0, len(communes), n)
        dlat = rng.normal(0, 1, n) * sigma_km[pick] / KM_PER_DEG
        dlon = rng.normal(0, 1, n) * sigma_km[pick] / (KM_PER_DEG * np.cos(np.radians(lat0[pick])))
        return pick, lon0[pick] + dlon, lat0[pick] + dlat

    pick, vlon, vlat = scatter(n_villages)
    groups = rng.choice(
        ["covered", "low_signal_powered", "low_signal_unpowered"], n_villages, p=[0.88, 0.08, 0.04]
    )
    syll = np.array(["Nà", "Khuổi", "Phầy", "Pác", "Nặm", "Sà", "Phìn", "Mù", "Cả", "Tả", "Van"])
    names = [
        f"{p} {a} {b}"
        for p, a, b in zip(
            rng.choice(["Bản", "Thôn", "Xóm", "Ấp"], n_villages),
            rng.choice(syll, n_villages),
            rng.choice(syll, n_villages),
            strict=True,
        )
    ]
    cc = communes["commune_code"].to_numpy()[pick]
    villages = gpd.GeoDataFrame(
        {
            "village_id": [f"{c}{i % 1000:03d}" for i, c in enumerate(cc)],
            "name": names,
            "province_code": communes["province_code"].to_numpy()[pick],
            "province": communes["province_name"].to_numpy()[pick],
            "commune_code": cc,
            "commune": communes["commune_full_name"].to_numpy()[pick],
            "population": rng.integers(80, 3000, n_villages),
            "electrified": groups != "low_signal_unpowered",
            "power_eta": pd.NaT,
            "group": groups,
            "best_operator": rng.choice(OPERATORS, n_villages),
            "best_tower_id": [f"T{i:07d}" for i in rng.integers(0, 3 * n_tower_sites, n_villages)],
            "best_rsrp_dbm": np.round(rng.normal(-105, 9, n_villages), 1),
            "margin_db": np.round(rng.normal(5, 9, n_villages), 1),
            "rsrp_source": "predicted",
        },
        geometry=gpd.points_from_xy(vlon, vlat),
        crs="EPSG:4326",
    )
    villages["village_id"] = [f"{v}{i:06d}" for i, v in enumerate(villages["village_id"])]

    _, tlon, tlat = scatter(n_tower_sites)
    ops = rng.choice(len(OPERATORS), n_tower_sites, p=[0.44, 0.26, 0.22, 0.08])
    towers = gpd.GeoDataFrame(
        {
            "tower_id": [f"T{i:07d}" for i in range(3 * n_tower_sites)],
            "site_id": np.repeat([f"S{i:06d}" for i in range(n_tower_sites)], 3),
            "operator": np.repeat(np.array(OPERATORS)[ops], 3),
            "technology": "4G",
            "frequency_mhz": 1800.0,
            "bandwidth_mhz": 10.0,
            "height_m": np.repeat(np.round(rng.uniform(18, 45, n_tower_sites)), 3),
            "eirp_dbm": 58.0,
            "azimuth_deg": np.tile([0.0, 120.0, 240.0], n_tower_sites),
            "beamwidth_deg": 65.0,
            "status": "active",
        },
        geometry=gpd.points_from_xy(np.repeat(tlon, 3), np.repeat(tlat, 3)),
        crs="EPSG:4326",
    )

    gap = villages[villages["group"] != "covered"].reset_index(drop=True)
    n = len(gap)
    site_ids = [f"N{i:06d}" for i in range(n)]
    sites = gpd.GeoDataFrame(
        {
            "site_id": site_ids,
            "operator": rng.choice(OPERATORS, n),
            "kind": rng.choice(["new", "upgrade"], n, p=[0.8, 0.2]),
            "technology": "4G",
            "height_m": 30.0,
            "villages_served": gap["village_id"],
            "n_villages": 1,
            "population_served": gap["population"],
            "group": gap["group"],
            "deadline": np.where(gap["group"] == "low_signal_powered", "2025-08-31", "2025-11-30"),
            "power": np.where(gap["group"] == "low_signal_powered", "grid", "solar"),
            "capex_vnd": 1_550_000_000,
            "province_code": gap["province_code"],
            "province": gap["province"],
        },
        geometry=gap.geometry,
        crs="EPSG:4326",
    )
    on_air = pd.Timestamp("2025-08-01") + pd.to_timedelta(rng.integers(0, 140, n), unit="D")
    schedule = pd.DataFrame(
        {
            "site_id": site_ids,
            "operator": sites["operator"],
            "group": sites["group"],
            "deadline": sites["deadline"],
            "finish_date": (on_air - pd.Timedelta(days=10)).strftime("%Y-%m-%d"),
            "on_air_date": on_air.strftime("%Y-%m-%d"),
            "late_days": 0,
        }
    )
    ends = rng.normal(0, 0.05, (n, 2))
    links = gpd.GeoDataFrame(
        {
            "site_id": site_ids,
            "operator": sites["operator"],
            "kind": rng.choice(["fibre", "microwave", "satellite"], n, p=[0.5, 0.45, 0.05]),
            "length_m": np.round(np.hypot(ends[:, 0], ends[:, 1]) * KM_PER_DEG * 1000),
        },
        geometry=[
            LineString([(x, y), (x + dx, y + dy)])
            for x, y, (dx, dy) in zip(gap.geometry.x, gap.geometry.y, ends, strict=True)
        ],
        crs="EPSG:4326",
    )
    return villages, towers, sites, schedule, links


# --------------------------------------------------------------------------- naive map


SHIM = (
    "window.$ = function (s) { var t = document.createElement('template'); "
    "t.innerHTML = s.trim(); return [t.content.firstChild]; };"
)


def naive_map(villages: gpd.GeoDataFrame, out_dir: Path) -> Path:
    """One folium.Marker per village with a popup and a tooltip; Leaflet from local files."""
    assets = out_dir / "naive_assets"
    leaflet = resources.files("covgap") / "assets" / "leaflet"
    (assets / "images").mkdir(parents=True, exist_ok=True)
    for name in ("leaflet.js", "leaflet.css"):
        (assets / name).write_bytes(leaflet.joinpath(name).read_bytes())
    for image in leaflet.joinpath("images").iterdir():
        (assets / "images" / image.name).write_bytes(image.read_bytes())
    (assets / "shim.js").write_text(SHIM)
    m = folium.Map(location=[16.0, 106.0], zoom_start=6, tiles=None)
    m.default_js = [("leaflet", "naive_assets/leaflet.js"), ("jquery", "naive_assets/shim.js")]
    m.default_css = [("leaflet_css", "naive_assets/leaflet.css")]
    for row in villages.itertuples(index=False):
        popup = (
            f"<b>{html.escape(row.name)}</b><br>Commune: {html.escape(row.commune)}<br>"
            f"Province: {html.escape(row.province)}<br>Population: {row.population}<br>"
            f"Status: {row.group}<br>RSRP: {row.best_rsrp_dbm} dBm"
        )
        folium.Marker(
            [row.geometry.y, row.geometry.x],
            popup=folium.Popup(popup, max_width=300),
            tooltip=html.escape(row.name),
        ).add_to(m)
    path = out_dir / f"naive_{len(villages)}.html"
    m.save(str(path))
    return path


def folder_bytes(page: Path) -> int:
    size = page.stat().st_size
    assets = page.parent / "naive_assets"
    if page.name.startswith("naive") and assets.exists():
        size += sum(p.stat().st_size for p in assets.rglob("*") if p.is_file())
    return size


# --------------------------------------------------------------------------- Chromium (CDP)


class Browser:
    """Headless Chromium driven over the DevTools protocol on a pipe (fds 3 and 4)."""

    def __init__(self) -> None:
        self.profile = tempfile.mkdtemp(prefix="covgap-bench-")
        to_child_r, self._to_child_w = os.pipe()
        self._from_child_r, from_child_w = os.pipe()

        def wire() -> None:  # in the child: our pipe ends become fds 3 (read) and 4 (write)
            a = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-extensions",
                "--disable-sync",
                "--mute-audio",
                "--hide-scrollbars",
                "--window-size=1200,800",
                "--remote-debugging-pipe",
                f"--user-data-dir={self.profile}",
                "about:blank",
            ],
            preexec_fn=wire,
            close_fds=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf = b""
        self._id = 0

    def send(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> Any:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_child_w, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def _read(self) -> dict[str, Any]:
        while b"\0" not in self._buf:
            chunk = os.read(self._from_child_r, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def load(
        self,
        page: Path,
        ready_js: str,
        *,
        timeout_s: float = 300.0,
        until: tuple[str, ...] = ("ready",),
    ) -> dict[str, Any]:
        """Open ``page`` in a fresh tab, wait for the probe's ``until`` times; times in ms
        from navigation start."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        self.send("Page.enable", session=session)
        self.send("Page.addScriptToEvaluateOnNewDocument", {"source": ready_js}, session=session)
        wall = time.perf_counter()
        self.send("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
        result: dict[str, Any] = {}
        while time.perf_counter() - wall < timeout_s:
            out = self.send(
                "Runtime.evaluate", {"expression": PROBE, "returnByValue": True}, session=session
            )
            value = out.get("result", {}).get("value")
            result = json.loads(value) if value else {}
            if all(result.get(key) for key in until):
                break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"{page.name}: not ready after {timeout_s} s")
        result["wall_ms"] = (time.perf_counter() - wall) * 1000
        self.send("Target.closeTarget", {"targetId": target})
        return result

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.send("Browser.close")
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self._to_child_w)
        os.close(self._from_child_r)
        shutil.rmtree(self.profile, ignore_errors=True)


@contextlib.contextmanager
def browser() -> Iterator[Browser]:
    b = Browser()
    try:
        yield b
    finally:
        b.close()


def timed_loads(
    page: Path, ready_js: str, runs: int, *, until: tuple[str, ...] = ("ready",)
) -> dict[str, Any]:
    """Median first-paint, complete, coverage-image and FCP times (ms) over ``runs``
    loads, each in a fresh browser; ``last`` is the last load's probe."""
    times: dict[str, list[float]] = {"first": [], "ready": [], "coverage": [], "fcp": []}
    last: dict[str, Any] = {}
    for _ in range(runs):
        with browser() as b:
            last = b.load(page, ready_js, until=until)
        for key, values in times.items():
            if last.get(key):
                values.append(last[key])
    out: dict[str, Any] = {k: statistics.median(v) if v else None for k, v in times.items()}
    out["last"] = last
    return out


# --------------------------------------------------------------------------- extra layers


def national_map(data: tuple[Any, ...], path: Path, title: str, **layers: Any) -> Path:
    """``covgap.maps.build_map`` of (villages, towers, sites, links, schedule) at ``path``."""
    villages, towers, sites, links, schedule = data
    return build_map(
        villages,
        towers,
        sites,
        links=links,
        site_schedule=schedule,
        title=title,
        out_path=path,
        **layers,
    )


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1, 5, 15 min; {os.cpu_count()} CPUs)"


def extra_layers(
    villages: gpd.GeoDataFrame,
    towers: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    links: gpd.GeoDataFrame,
    schedule: pd.DataFrame,
    work: Path,
    base_size: int,
    base_first: float,
    runs: int,
) -> tuple[Any, float, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The national map again with the predicted-coverage grid and the commune outlines;
    returns (the grid, its wall time in s, the boundaries, the communes)."""
    boundaries = load_boundaries(SHARED / "vn_provinces34.geojson")
    communes = load_communes(SHARED / "vn_communes_north_sample.geojson")
    t0 = time.perf_counter()
    coverage_grid(towers.iloc[:3], (105.0, 21.0, 105.1, 21.1))  # compile the kernel first
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    area = analysed_area(villages, boundaries)
    grid = coverage_grid(towers, area, grid=GridSettings())
    grid_s = time.perf_counter() - t0
    png = len(png_bytes(grid))
    t0 = time.perf_counter()
    page = national_map(
        (villages, towers, sites, links, schedule),
        work / "national_layers.html",
        "covgap benchmark — national + coverage + communes",
        coverage_raster=grid,
        communes=communes,
    )
    build_s = time.perf_counter() - t0
    size = folder_bytes(page)
    timing = timed_loads(page, READY_OURS, runs)
    name = json.dumps(coverage_layer_name(grid))
    shown = timed_loads(page, READY_OURS + COVERAGE_ON % name, runs, until=("ready", "coverage"))
    nrow, ncol = grid.shape
    print("\nsame map + predicted coverage (4G RSRP grid) + commune outlines (issue #7):")
    print(
        f"  coverage grid            {grid_s:8.1f} s  ({grid.n_cells_computed:,} cells of "
        f"{grid.cell_m:,.0f} m computed in a {ncol:,} × {nrow:,} box; {grid.n_pairs:,} "
        f"pairs evaluated, the others skipped by bounds; + {compile_s:.1f} s numba compile "
        "or cache load once)"
    )
    print(f"  coverage PNG             {png / 1e6:8.2f} MB  (base64 in the page: × 4/3)")
    print(f"  communes                 {len(communes):8,d}  (the shared north sample)")
    print(f"  build (Python)           {build_s:8.1f} s")
    print(
        f"  HTML + assets            {size / 1e6:8.1f} MB  (+{(size - base_size) / 1e6:.1f} MB "
        "over the map above)"
    )
    print(
        f"  first paint              {timing['first'] / 1000:8.2f} s  (layers off at first; "
        f"{(timing['first'] - base_first) / 1000:+.2f} s)"
    )
    print(f"  first paint, coverage on {shown['first'] / 1000:8.2f} s  (switched on at load)")
    print(f"  coverage image on screen {shown['coverage'] / 1000:8.2f} s  (from navigation)")
    print(f"  budget (DESIGN §9)       ≤ 25 MB: {'met' if size <= 25e6 else 'MISSED'}; ", end="")
    print(f"first paint ≤ 5 s: {'met' if timing['first'] <= 5000 else 'MISSED'}")
    print(f"  load average             {load_average()}")
    return grid, grid_s, boundaries, communes


def map_stage(
    data: tuple[Any, ...],
    grid: Any,
    boundaries: gpd.GeoDataFrame,
    communes: gpd.GeoDataFrame,
    work: Path,
    grid_s: float | None = None,
) -> None:
    """The maps of ``covgap run``: the national map and one per province with gap villages
    (boundaries, communes, coverage grid, links, schedule), written by the two calls the
    run makes today and by ``build_maps`` (both at once, the inputs prepared once)."""
    villages, towers, sites, links, schedule = data
    common: dict[str, Any] = {
        "links": links,
        "site_schedule": schedule,
        "boundaries": boundaries,
        "boundaries_credit": "OpenDevelopment Vietnam (benchmark)",
        "title": "covgap benchmark — map stage",
        "coverage_raster": grid,
        "communes": communes,
    }
    apart = work / "stage_apart"
    both = work / "stage_both"
    apart.mkdir(exist_ok=True)
    both.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    build_map(villages, towers, sites, out_path=apart / "coverage_map.html", **common)
    national_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    provinces = build_province_maps(villages, towers, sites, out_dir=apart, **common)
    provinces_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    national, again = build_maps(
        villages, towers, sites, out_path=both / "coverage_map.html", out_dir=both, **common
    )
    both_s = time.perf_counter() - t0
    same = all(
        a.read_bytes() == b.read_bytes()
        for a, b in zip([apart / "coverage_map.html", *provinces], [national, *again], strict=True)
    )
    total = sum(f.stat().st_size for f in [national, *again])
    print(f"\nmap stage of `covgap run` ({len(provinces)} province maps + the national map):")
    print(f"  build_map                {national_s:8.1f} s  (national, all layers)")
    print(f"  build_province_maps      {provinces_s:8.1f} s  ({len(provinces)} maps)")
    print(
        f"  build_maps               {both_s:8.1f} s  (both at once, inputs prepared once; "
        f"same bytes: {'yes' if same else 'NO'})"
    )
    print(f"  pages                    {total / 1e6:8.1f} MB  ({len(again) + 1} files)")
    if grid_s is not None:
        print(
            f"  + coverage grid          {grid_s:8.1f} s  (above): ≈ {grid_s + both_s:.1f} s in all"
        )
    print(f"  load average             {load_average()}")


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--villages", type=int, default=100_000)
    parser.add_argument("--tower-sites", type=int, default=120_000, help="3 tower rows each")
    parser.add_argument("--naive", type=int, nargs="+", default=[5_000, 10_000])
    parser.add_argument("--runs", type=int, default=3, help="page loads per map (median)")
    parser.add_argument("--seed", type=int, default=20250715)
    parser.add_argument("--keep", type=Path, default=None, help="keep the pages in this folder")
    args = parser.parse_args()
    if not (SHARED / "vn_communes.csv").exists():
        print(f"../shared/data is absent ({SHARED}): nothing to benchmark", file=sys.stderr)
        return 2
    if not Path(CHROMIUM).exists():
        print(f"Chromium not found at {CHROMIUM}", file=sys.stderr)
        return 2

    print(f"machine: {machine()}")
    print(f"load average: {load_average()}")
    work = Path(tempfile.mkdtemp(prefix="covgap-bench-maps-")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    villages, towers, sites, schedule, links = synthetic(args.villages, args.tower_sites, args.seed)
    print(
        f"data: {len(villages):,} villages ({(villages['group'] != 'covered').sum():,} gap), "
        f"{len(towers):,} tower rows ({args.tower_sites:,} sites), {len(sites):,} planned "
        f"sites with schedule and links; made in {time.perf_counter() - t0:.1f} s"
    )

    t0 = time.perf_counter()
    page = national_map(
        (villages, towers, sites, links, schedule),
        work / "national.html",
        "covgap benchmark — national",
    )
    build_s = time.perf_counter() - t0
    size = folder_bytes(page)
    timing = timed_loads(page, READY_OURS, args.runs)
    first, ready, fcp, last = timing["first"], timing["ready"], timing["fcp"], timing["last"]
    painted = json.loads(last["painted"]) if last.get("painted") else {}
    drawn_villages = sum(v for k, v in painted.items() if k.startswith("Villages"))
    print("\ncovgap map (canvas, compact column arrays, popups built on click):")
    print(f"  build (Python)           {build_s:8.1f} s")
    print(
        f"  HTML + assets            {size / 1e6:8.1f} MB  ({size / len(villages):.0f} B/village)"
    )
    print(f"  first paint              {first / 1000:8.2f} s  (median of {args.runs} loads: from")
    print("                                       navigation to villages, sites and links on")
    print("                                       the canvas, + 2 frames)")
    print(f"  complete                 {ready / 1000:8.2f} s  (+ the clustered towers layers)")
    if fcp is not None:
        print(f"  first contentful paint   {fcp / 1000:8.2f} s  (Chromium's FCP: the page frame)")
    print(f"  villages painted         {drawn_villages:8,d}  of {len(villages):,}")
    print(f"  budget (DESIGN §9)       ≤ 25 MB: {'met' if size <= 25e6 else 'MISSED'}; ", end="")
    print(f"first paint ≤ 5 s: {'met' if first <= 5000 else 'MISSED'}")
    print(f"  load average             {load_average()}")

    grid, grid_s, boundaries, communes = extra_layers(
        villages, towers, sites, links, schedule, work, size, first, args.runs
    )
    data = (villages, towers, sites, links, schedule)
    map_stage(data, grid, boundaries, communes, work, grid_s)

    naive_rows = []
    for n in args.naive:
        sample = villages.sample(n=min(n, len(villages)), random_state=args.seed)
        t0 = time.perf_counter()
        npage = naive_map(sample.reset_index(drop=True), work)
        nbuild = time.perf_counter() - t0
        nsize = folder_bytes(npage)
        nt = timed_loads(npage, READY_NAIVE, 1)
        naive_rows.append(
            (len(sample), nbuild, nsize, nt["ready"], nt["fcp"], nt["last"]["markers"])
        )
    print("\nnaive folium map (one Marker + Popup + Tooltip per village), subsamples:")
    print("  villages   build s   HTML+assets MB   B/village   first paint s   markers in DOM")
    for n, b, s, r, _f, markers in naive_rows:
        print(
            f"  {n:8,d}  {b:8.1f}  {s / 1e6:15.1f}  {s / n:10.0f}  {r / 1000:14.2f}  {markers:15,d}"
        )
    if len(naive_rows) >= 2:
        (n1, b1, s1, r1, _, _), (n2, b2, s2, r2, _, _) = naive_rows[0], naive_rows[-1]
        per_v_size = (s2 - s1) / (n2 - n1)
        per_v_time = (r2 - r1) / (n2 - n1)
        per_v_build = (b2 - b1) / (n2 - n1)
        big = len(villages)
        est_size = s2 + per_v_size * (big - n2)
        est_ready = r2 + per_v_time * (big - n2)
        est_build = b2 + per_v_build * (big - n2)
        print(
            f"\nnaive map at {big:,} villages, EXTRAPOLATED linearly from {n1:,} and {n2:,} "
            "(not run: it would not fit the 10-minute budget):"
        )
        print(f"  build ≈ {est_build:,.0f} s, HTML+assets ≈ {est_size / 1e6:,.0f} MB, ", end="")
        print(f"first paint ≈ {est_ready / 1000:,.0f} s")
        print("  (only villages in it: no towers, sites or links, unlike covgap's map)")
        print(f"ratio naive / covgap: size × {est_size / size:.1f}, first paint × ", end="")
        print(f"{est_ready / first:.0f} (× {est_ready / ready:.0f} against complete), ", end="")
        print(f"build × {est_build / build_s:.0f}")
        if (r2 - r1) / (n2 - n1) > 1.2 * r1 / n1:
            print("  (the naive load time grows faster than linearly: the estimate is low)")
    print(f"\npages in {work}" + ("" if args.keep else " (temporary)"))
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
