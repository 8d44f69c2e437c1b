"""Benchmark: the national case (issue 9; DESIGN §8, §9), not run by CI.

Data: ``covgap.national.build_national`` — ≈ 100 k villages placed by real place density
(the 3,321 communes and 898 GeoNames places of ``../shared/data``), 120 k sites × 3 4G
sectors, with 5G on 57.5 % of sites and omni 2G/3G carriers (≈ 710 k sector rows).

Figures printed, with the machine and its load (the 2 cores may be shared):

1. **Generator**: build time, rows; files written (GeoParquet, and GeoJSON/CSV as the
   sample) and read back through ``covgap.io`` (time and peak RSS per file: the
   streaming-reader question).
2. **Analysis** (``assess_villages``, default settings, model ``auto``): 100 k villages ×
   the 360 k 4G sector rows — wall time (best of ``--repeats``, after a numba warm-up),
   pairs, pairs/s, peak RSS of the process and what the analysis added; then the full
   2G–5G mix as a second figure.
3. **Naive geopandas baseline** on ``--naive`` villages: ``sjoin_nearest`` to the 4G
   sectors (in UTM 48N) and a row-wise Okumura–Hata / COST-231 with ``DataFrame.apply``
   (nearest sector only, no pattern); villages/s against the kernel's, and how often
   the nearest sector's verdict differs from the best server's.
4. **Full run**: ``covgap run --no-schedule`` (the installed CLI, the demo scenario
   with the national files) in a child process: wall time, CPU seconds and peak RSS (the
   child's own ``ru_maxrss`` from ``os.wait4``, and the process tree sampled every 20 ms),
   with the load average before and after; killed past ``--run-timeout`` s or
   ``--run-max-gb``. With ``--stages`` (or when the run misses a floor) the same run is
   replayed in one process with every covgap function ``pipeline.run`` calls timed, and a
   table gives each stage (import, load, analyse, sites, map, exports, report, other:
   wall time, share, RSS after, peak RSS by then; the functions of a stage made of several)
   and the slowest calls inside the stages; the Python stack is dumped every 20 s while
   it runs, to show what dominates a run that is killed. The siting module's version
   (file hash, modification time, first docstring line) is printed.
5. **Dask engine** on ``--dask-villages`` (1 M) synthetic villages × the 4G rows:
   ``assess_villages_dask`` on a LocalCluster of 1 and of 2 worker processes (kernel
   compile per worker printed apart), pairs/s against the single-machine engine's, and
   whether the rows equal the single-machine engine's exactly — checked on a random 50 k
   of the villages (a village's result depends on the towers only, so the single-machine
   engine on that subset gives exactly those rows; the full 1 M single run would cost as
   much again as a dask run).

Run from outside the repository root, e.g.
``cd /tmp && /work/main/.venv/bin/python /work/main/benchmarks/bench_national.py``.
``--skip io,analysis,naive,run,dask`` leaves sections out; ``--data DIR`` reuses (or
writes) the national files in DIR instead of generating them afresh, e.g.
``--data /tmp/national --skip io,analysis,naive,dask --stages`` for the full run alone.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import hashlib
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import psutil

import covgap
from covgap.analysis import AnalysisSettings, Assessment, assess_villages
from covgap.distributed import DaskSettings, assess_villages_dask, dask_client, warm_up
from covgap.io import load_boundaries, load_towers, load_villages
from covgap.national import build_national, national_spec, write_national

PROJECT = Path(__file__).resolve().parents[1]
SHARED = PROJECT.parent / "shared" / "data"
SCENARIO = PROJECT / "scenarios" / "vietnam_2025.toml"
COVGAP = Path(sys.executable).with_name("covgap")
FLOORS = "floors: analysis ≤ 5 s and ≤ 2 GB; full run --no-schedule ≤ 60 s and ≤ 4 GB"


# --------------------------------------------------------------------------- measuring


class PeakRSS:
    """Peak resident memory (MB) of a process tree, sampled every 20 ms in a thread."""

    def __init__(self, pid: int | None = None) -> None:
        self.proc = psutil.Process(pid or os.getpid())
        self.start_mb = self._rss()
        self.peak_mb = self.start_mb
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> float:
        total = 0
        try:
            procs = [self.proc, *self.proc.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0.0
        for p in procs:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                total += p.memory_info().rss
        return total / 2**20

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak_mb = max(self.peak_mb, self._rss())

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self._rss())


def machine() -> str:
    import numba

    mem = psutil.virtual_memory()
    return (
        f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"cpu_count={os.cpu_count()}, numba threads={numba.get_num_threads()} "
        f"({numba.threading_layer() if _numba_ran() else 'layer not started'}), "
        f"RAM {mem.total / 2**30:.0f} GB ({mem.available / 2**30:.0f} GB free), "
        f"python {sys.version.split()[0]}, covgap {covgap.__version__}; "
        f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())} (1/5/15 min)"
    )


def _numba_ran() -> bool:
    try:
        import numba

        numba.threading_layer()
        return True
    except ValueError:
        return False


def load_now() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


@contextlib.contextmanager
def section(title: str) -> Iterator[None]:
    print(f"\n== {title} ({load_now()})", flush=True)
    t0 = time.perf_counter()
    yield
    print(f"   [{title}: {time.perf_counter() - t0:.0f} s]", flush=True)


# --------------------------------------------------------------------------- 1. generator


def generate(
    tmp: Path, skip: set[str], n_villages: int, n_sites: int
) -> tuple[Any, dict[str, Path]]:
    with section("1. national generator"):
        t0 = time.perf_counter()
        result = build_national(SHARED, spec=national_spec(n_villages=n_villages, n_sites=n_sites))
        t_build = time.perf_counter() - t0
        tech = result.towers["technology"].value_counts()
        print(
            f"build_national: {t_build:.1f} s (incl. one analysis pass for measurements and "
            f"assignments, and the numba compile); {result.counts['villages']:,} villages "
            f"({result.counts['villages_near_places']:,} around GeoNames places), "
            f"{result.counts['sites']:,} sites, {result.counts['towers']:,} sector rows "
            f"({', '.join(f'{k} {v:,}' for k, v in tech.items())}); first pass finds "
            f"{result.counts['low_signal_first_pass']:,} low-signal villages"
        )
        files = {
            "villages.parquet": tmp / "villages.parquet",
            "towers.parquet": tmp / "towers.parquet",
            "villages.geojson": tmp / "villages.geojson",
            "towers.csv": tmp / "towers.csv",
        }
        t0 = time.perf_counter()
        write_national(result, files["villages.parquet"], files["towers.parquet"])
        t_pq = time.perf_counter() - t0
        msg = f"written: GeoParquet in {t_pq:.1f} s"
        if "io" not in skip:
            t0 = time.perf_counter()
            write_national(result, files["villages.geojson"], files["towers.csv"])
            msg += f", GeoJSON + CSV in {time.perf_counter() - t0:.1f} s"
        sizes = ", ".join(
            f"{name} {path.stat().st_size / 2**20:.1f} MB"
            for name, path in files.items()
            if path.exists()
        )
        print(f"{msg} ({sizes})")
    return result, files


@dataclasses.dataclass
class Loaded:
    """The national case read back from files (``villages``, ``towers`` as the
    generator's result has them)."""

    villages: gpd.GeoDataFrame
    towers: gpd.GeoDataFrame


def national_data(
    data: Path | None, tmp: Path, skip: set[str], n_villages: int, n_sites: int
) -> tuple[Any, dict[str, Path]]:
    """Generate the national case (into ``data`` when given), or reuse the files there."""
    if data is None:
        return generate(tmp, skip, n_villages, n_sites)
    files = {
        name: data / name
        for name in ("villages.parquet", "towers.parquet", "villages.geojson", "towers.csv")
    }
    if not (files["villages.parquet"].exists() and files["towers.parquet"].exists()):
        data.mkdir(parents=True, exist_ok=True)
        return generate(data, skip, n_villages, n_sites)
    with section(f"1. national files reused from {data}"):
        for name, path in files.items():
            if path.exists():
                print(f"{name}: {path.stat().st_size / 2**20:.1f} MB")
        result: Any = None
        if not {"analysis", "naive"} <= skip:
            t0 = time.perf_counter()
            result = Loaded(
                load_villages(files["villages.parquet"]).gdf,
                load_towers(files["towers.parquet"]).gdf,
            )
            print(
                f"read through covgap.io in {time.perf_counter() - t0:.1f} s: "
                f"{len(result.villages):,} villages, {len(result.towers):,} sector rows"
            )
    return result, files


def read_back(files: dict[str, Path]) -> None:
    with section("1b. covgap.io readers at national size"):
        boundaries = load_boundaries(SHARED / "vn_provinces34.geojson")
        for name, loader in (
            ("villages.parquet", load_villages),
            ("villages.geojson", load_villages),
            ("towers.parquet", load_towers),
            ("towers.csv", load_towers),
        ):
            if not files[name].exists():
                print(f"{name}: not written (run without --skip io to have it)")
                continue
            gc.collect()
            with PeakRSS() as mem:
                t0 = time.perf_counter()
                res = loader(files[name], boundaries=boundaries)
                wall = time.perf_counter() - t0
            print(
                f"{loader.__name__}({name}): {wall:.1f} s, {len(res.gdf):,} rows, "
                f"{len(res.rejects)} rejects; RSS +{mem.peak_mb - mem.start_mb:,.0f} MB at peak "
                f"(process peak {mem.peak_mb:,.0f} MB)"
            )
            del res


# --------------------------------------------------------------------------- 2. analysis


def cpu_s() -> float:
    """CPU seconds of this process, all threads (user + system)."""
    t = os.times()
    return t.user + t.system


def timed_assess(
    villages: gpd.GeoDataFrame, towers: gpd.GeoDataFrame, repeats: int
) -> tuple[float, float, Assessment, PeakRSS]:
    """Best wall time of ``repeats`` runs, its CPU seconds, the result, its memory."""
    best = (math.inf, math.nan)
    result: Assessment | None = None
    mem_best: PeakRSS | None = None
    for _ in range(repeats):
        gc.collect()
        with PeakRSS() as mem:
            c0, t0 = cpu_s(), time.perf_counter()
            out = assess_villages(villages, towers, AnalysisSettings())
            wall, cpu = time.perf_counter() - t0, cpu_s() - c0
        if wall < best[0]:
            best, result, mem_best = (wall, cpu), out, mem
    assert result is not None and mem_best is not None
    return best[0], best[1], result, mem_best


def analysis(result: Any, repeats: int) -> tuple[float, Assessment]:
    with section("2. analysis (assess_villages, model auto)"):
        villages, towers = result.villages, result.towers
        t0 = time.perf_counter()
        assess_villages(villages.iloc[:20], towers.iloc[:20])
        print(
            f"warm-up (kernel already compiled by the generator): {time.perf_counter() - t0:.2f} s"
        )
        lte = towers.loc[towers["technology"] == "4G"].reset_index(drop=True)
        wall, cpu, res, mem = timed_assess(villages, lte, repeats)
        v = res.villages
        print(
            f"4G: {len(villages):,} villages × {len(lte):,} sector rows: {wall:.2f} s wall "
            f"(best of {repeats}, {load_now()}; {cpu:.2f} CPU-s over all threads), "
            f"{res.n_pairs:,} pairs in reach = {res.n_pairs / wall / 1e6:.1f} M pairs/s wall, "
            f"{res.n_pairs / cpu / 1e6:.1f} M pairs per CPU-s; {res.n_pairs / len(villages):,.0f} "
            f"pairs per village; peak RSS {mem.peak_mb:,.0f} MB (analysis added "
            f"{mem.peak_mb - mem.start_mb:,.0f} MB); low-signal {int(v['low_signal'].sum()):,}; "
            f"extrapolated {res.extrapolated_share:.1%} — floor ≤ 5 s, ≤ 2 GB: "
            f"{'met' if wall <= 5 and mem.peak_mb <= 2048 else 'MISSED'}"
        )
        wall_mix, cpu_mix, res_mix, mem_mix = timed_assess(villages, towers, max(1, repeats - 1))
        print(
            f"2G–5G mix: {len(towers):,} sector rows: {wall_mix:.2f} s wall ({cpu_mix:.2f} "
            f"CPU-s), {res_mix.n_pairs:,} pairs = {res_mix.n_pairs / wall_mix / 1e6:.1f} M "
            f"pairs/s wall, {res_mix.n_pairs / cpu_mix / 1e6:.1f} M per CPU-s; "
            f"peak RSS {mem_mix.peak_mb:,.0f} MB; low-signal "
            f"{int(res_mix.villages['low_signal'].sum()):,}"
        )
    return wall, res


# --------------------------------------------------------------------------- 3. naive


_CLUTTER_DB = {"urban_large": 15.0, "urban_small_medium": 10.0, "suburban": 6.0, "open_rural": 3.0}
_N_RB_4G = {1.4: 6, 3.0: 15, 5.0: 25, 10.0: 50, 15.0: 75, 20.0: 100}


def _hata_row(row: pd.Series) -> float:
    """RSRP (dBm) of the nearest sector: Okumura–Hata (≤ 1500 MHz) or COST-231 Hata,
    the clutter's correction, as a user would write it for ``DataFrame.apply``."""
    f, hb, hm = row["frequency_mhz"], row["height_m"], 1.5
    d_km = max(row["distance_m"] / 1000.0, 0.01)
    env = row["clutter"] if isinstance(row["clutter"], str) else "open_rural"
    lf, lhb = math.log10(f), math.log10(hb)
    if env == "urban_large":
        a = 3.2 * math.log10(11.75 * hm) ** 2 - 4.97
    else:
        a = (1.1 * lf - 0.7) * hm - (1.56 * lf - 0.8)
    if f <= 1500:
        loss = 69.55 + 26.16 * lf - 13.82 * lhb - a + (44.9 - 6.55 * lhb) * math.log10(d_km)
    else:
        cm = 3.0 if env == "urban_large" else 0.0
        loss = 46.3 + 33.9 * lf - 13.82 * lhb - a + (44.9 - 6.55 * lhb) * math.log10(d_km) + cm
    if env == "suburban":
        loss += -2 * math.log10(f / 28) ** 2 - 5.4
    elif env == "open_rural":
        loss += -4.78 * lf**2 + 18.33 * lf - 40.94
    loss = max(loss, 32.45 + 20 * lf + 20 * math.log10(d_km))
    n_rb = _N_RB_4G.get(float(row["bandwidth_mhz"]), 50)
    return row["eirp_dbm"] - 10 * math.log10(12 * n_rb) - loss - _CLUTTER_DB[env]


def naive(result: Any, kernel_wall: float, kernel: Assessment, n: int) -> None:
    villages, towers = result.villages, result.towers
    n = min(n, len(villages))
    with section(f"3. naive geopandas baseline on {n:,} of the {len(villages):,} villages"):
        lte = towers.loc[(towers["technology"] == "4G") & (towers["status"] == "active")]
        rng = np.random.default_rng(9)
        pick = np.sort(rng.choice(len(villages), size=n, replace=False))
        sub = villages.iloc[pick]
        t0 = time.perf_counter()
        t_m = lte[
            ["tower_id", "frequency_mhz", "bandwidth_mhz", "height_m", "eirp_dbm", "geometry"]
        ].to_crs(32648)
        t_m.sindex  # noqa: B018 — built once, whatever the number of villages
        fixed = time.perf_counter() - t0
        t0 = time.perf_counter()
        v_m = sub[["village_id", "clutter", "geometry"]].to_crs(32648)
        joined = gpd.sjoin_nearest(
            v_m, t_m, how="left", max_distance=20_000, distance_col="distance_m"
        )
        joined = joined[~joined.index.duplicated(keep="first")]
        t_join = time.perf_counter() - t0
        has = joined["tower_id"].notna()
        rsrp = pd.Series(np.nan, index=joined.index)
        rsrp[has] = joined.loc[has].apply(_hata_row, axis=1)
        per_village = time.perf_counter() - t0
        naive_all = fixed + per_village * len(villages) / n
        low_naive = ~(rsrp.to_numpy() >= -110.0)
        best = kernel.villages.iloc[pick]
        low_kernel = best["low_signal"].to_numpy()
        same_tower = (joined["tower_id"].to_numpy() == best["best_tower_id"].to_numpy()).mean()
        scaled = "" if n == len(villages) else f" (scaled from {n:,} villages)"
        print(
            f"sjoin_nearest + apply(Hata): {fixed:.2f} s reprojecting the {len(lte):,} sectors "
            f"and building their tree, then {t_join:.2f} s sjoin_nearest + "
            f"{per_village - t_join:.2f} s apply for {n:,} villages = {naive_all:.1f} s for "
            f"all {len(villages):,}{scaled}; kernel {kernel_wall:.2f} s (best server over "
            f"every sector in reach, {kernel.n_pairs / len(villages):,.0f} per village, with "
            f"pattern) → naive / kernel = {naive_all / kernel_wall:.1f}× in wall time, "
            f"{(kernel.n_pairs / kernel_wall) / (len(villages) / naive_all):,.0f}× in pairs/s"
        )
        print(
            f"  the nearest sector is the best server for {same_tower:.0%} of these villages; "
            f"low-signal verdicts differ for {(low_naive != low_kernel).mean():.1%} "
            f"(naive {int(low_naive.sum()):,}, kernel {int(low_kernel.sum()):,})"
        )


# --------------------------------------------------------------------------- 4. full run


def _module_version(name: str) -> str:
    path = PROJECT / "coverage" / f"{name}.py"
    data = path.read_bytes()
    doc = data.decode("utf-8").split('"""')[1].strip().splitlines()[0] if b'"""' in data else ""
    stamp = time.strftime("%H:%M:%S", time.localtime(path.stat().st_mtime))
    digest = hashlib.sha256(data).hexdigest()[:12]
    return f"{name}.py sha256 {digest}, {len(data):,} bytes, modified {stamp}: “{doc}”"


@dataclasses.dataclass(frozen=True)
class Watched:
    """A finished (or killed) child: exit code (None if killed), wall time, peak RSS of
    the process tree sampled every 20 ms, the child's own peak RSS from the kernel
    (``wait4`` rusage ``ru_maxrss``: its largest resident size, exact), CPU seconds, and
    its output."""

    code: int | None
    wall_s: float
    sampled_peak_mb: float
    maxrss_mb: float
    cpu_s: float
    output: str


def watch(cmd: list[str], cwd: Path, timeout_s: float, max_gb: float) -> Watched:
    """Run ``cmd``; kill it past ``timeout_s`` or ``max_gb`` of RSS (tree)."""
    log = cwd / "run.log"
    status, usage = 0, None
    with open(log, "w", encoding="utf-8") as fh:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT)
        why = ""
        with PeakRSS(proc.pid) as mem:
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                time.sleep(0.05)
                if time.perf_counter() - t0 > timeout_s:
                    why = f"killed after {timeout_s:.0f} s"
                elif mem.peak_mb > max_gb * 1024:
                    why = f"killed at {mem.peak_mb / 1024:.1f} GB RSS"
                if why:
                    proc.kill()
                    _, status, usage = os.wait4(proc.pid, 0)
                    break
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    text = log.read_text(encoding="utf-8", errors="replace")
    return Watched(
        code=None if why else proc.returncode,
        wall_s=wall,
        sampled_peak_mb=mem.peak_mb,
        maxrss_mb=usage.ru_maxrss / 1024 if usage is not None else math.nan,
        cpu_s=(usage.ru_utime + usage.ru_stime) if usage is not None else math.nan,
        output=(why + "\n" + text).strip(),
    )


_STAGES = r"""
import faulthandler, functools, json, resource, sys, time
from pathlib import Path
import psutil
faulthandler.dump_traceback_later(20, repeat=True, file=sys.stderr)
proc = psutil.Process()
depth = [0]
def timed(name, fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        depth[0] += 1
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            depth[0] -= 1
            wall = time.perf_counter() - t0
            rss = proc.memory_info().rss / 2**20
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print("STAGE " + json.dumps({"name": name, "depth": depth[0], "s": round(wall, 3),
                  "rss_mb": round(rss), "peak_mb": round(peak)}), flush=True)
    return wrapper
t0 = time.perf_counter()
from covgap import pipeline
from covgap.cli import _scenario
print("STAGE " + json.dumps({"name": "import", "depth": 1, "s": round(time.perf_counter() - t0, 3),
      "rss_mb": round(proc.memory_info().rss / 2**20), "peak_mb": 0}), flush=True)
# time every covgap function pipeline.run calls by name (whatever the pipeline is today)
for name, obj in list(vars(pipeline).items()):
    if callable(obj) and getattr(obj, "__module__", "").startswith("covgap.") and name != "run" \
            and not isinstance(obj, type):
        setattr(pipeline, name, timed(name, obj))
scenario_path, villages, towers, boundaries, out, maps = map(Path, sys.argv[1:7])
scenario_path = None if str(scenario_path) == "-" else scenario_path
sc = _scenario(scenario_path, villages=villages, towers=towers, boundaries=boundaries)
timed("pipeline.run", pipeline.run)(sc, out, maps, do_schedule=False)
"""

#: Stages of the breakdown: the functions ``pipeline.run`` calls, by the stage they belong to
#: (anything else is "other": the manifest's hashes, the run's own glue).
STAGE_OF = {
    "import": "import",
    "stage_load": "load",
    "write_rejects": "load",
    "stage_analyse": "analyse",
    "stage_sites": "sites",
    "map_layers": "map",
    "build_map": "map",
    "build_province_maps": "map",
    "write_operator_exports": "exports",
    "build_report": "report",
}
STAGE_ORDER = ("import", "load", "analyse", "sites", "map", "exports", "report", "other")


def _stage_records(text: str) -> list[dict[str, Any]]:
    out = []
    for line in text.splitlines():
        if line.startswith("STAGE "):
            with contextlib.suppress(ValueError):
                out.append(json.loads(line[6:]))
    return out


def _stage_table(records: list[dict[str, Any]], watched: Watched) -> list[str]:
    """Per stage: wall time, share of the run, RSS after it, the process's peak RSS by its
    end; then the slowest nested calls (what dominates inside the stages)."""
    run = next((r for r in records if r["name"] == "pipeline.run"), None)
    top = [r for r in records if r["depth"] == 1]
    totals: dict[str, list[float]] = {}
    for r in top:
        stage = STAGE_OF.get(r["name"], "other")
        t = totals.setdefault(stage, [0.0, 0.0, 0.0])
        t[0] += r["s"]
        t[1] = r["rss_mb"]
        t[2] = max(t[2], r["peak_mb"])
    run_s = run["s"] if run else sum(t[0] for t in totals.values())
    if run:
        totals["other"] = [
            max(0.0, run_s - sum(v[0] for k, v in totals.items() if k not in ("import", "other"))),
            run["rss_mb"],
            run["peak_mb"],
        ]
    lines = [f"{'stage':<9}{'wall s':>8}{'share':>8}{'RSS after MB':>14}{'peak MB':>9}"]
    for stage in STAGE_ORDER:
        if stage in totals:
            w, rss, peak = totals[stage]
            share = f"{w / run_s:.0%}" if run_s and stage != "import" else ""
            lines.append(f"{stage:<9}{w:>8.1f}{share:>8}{rss:>14,.0f}{peak:>9,.0f}")
            parts = [r for r in top if STAGE_OF.get(r["name"], "other") == stage]
            if len(parts) > 1:
                lines += [f"  {r['name']:<26}{r['s']:>7.1f} s" for r in parts if r["s"] >= 0.05]
    lines.append(
        f"{'total':<9}{watched.wall_s:>8.1f}{'':>8}{'':>14}{watched.maxrss_mb:>9,.0f}"
        "  (process wall time incl. interpreter start; peak = the child's ru_maxrss)"
    )
    nested = sorted((r for r in records if r["depth"] >= 2), key=lambda r: -r["s"])[:10]
    if nested:
        lines.append("slowest calls inside the stages:")
        lines += [
            f"  {r['name']:<28}{r['s']:>7.1f} s  (RSS after {r['rss_mb']:,} MB)" for r in nested
        ]
    return lines


def _last_stack(text: str) -> list[str]:
    """The last faulthandler dump (innermost 12 frames) and the last words of a killed run."""
    lines = text.splitlines()
    out = [lines[0]] if lines and lines[0].startswith("killed") else []
    dumps = [i for i, ln in enumerate(lines) if ln.startswith(("Timeout", "Thread", "Current"))]
    if dumps:
        frames = [ln for ln in lines[dumps[-1] :] if ln.lstrip().startswith("File")]
        out += ["last stack dump (innermost first):", *frames[:12]]
    rest = [
        ln
        for ln in lines[-4:]
        if not ln.lstrip().startswith("File") and not ln.startswith("STAGE ") and ln not in out
    ]
    return out + rest


def full_run(
    files: dict[str, Path],
    tmp: Path,
    timeout_s: float,
    max_gb: float,
    stages: bool,
    scenario: Path | None,
) -> None:
    with section("4. full national run: covgap run --no-schedule"):
        print(f"siting under test: {_module_version('siting')}")
        print(f"scenario: {scenario or 'the documented defaults (no --scenario)'}")
        print(f"inputs: {files['villages.parquet']}, {files['towers.parquet']}")
        work = tmp / "run"
        work.mkdir(exist_ok=True)
        cmd = [
            str(COVGAP),
            "run",
            *(["--scenario", str(scenario)] if scenario else []),
            "--villages",
            str(files["villages.parquet"]),
            "--towers",
            str(files["towers.parquet"]),
            "--boundaries",
            str(SHARED / "vn_provinces34.geojson"),
            "--no-schedule",
            "--out",
            str(work / "out"),
            "--maps",
            str(work / "maps"),
        ]
        before = os.getloadavg()
        run = watch(cmd, work, timeout_s, max_gb)
        after = os.getloadavg()
        met = run.code == 0 and run.wall_s <= 60 and run.maxrss_mb <= 4096
        print(
            f"covgap run --no-schedule: exit {run.code if run.code is not None else 'killed'}, "
            f"{run.wall_s:.1f} s wall ({run.cpu_s:.1f} CPU-s), peak RSS {run.maxrss_mb:,.0f} MB "
            f"(ru_maxrss; tree sampled every 20 ms: {run.sampled_peak_mb:,.0f} MB); load average "
            f"{before[0]:.1f} before, {after[0]:.1f} after — floor ≤ 60 s, ≤ 4 GB: "
            f"{'met' if met else 'MISSED'}"
        )
        tail = [ln for ln in run.output.splitlines() if not ln.startswith("STAGE ")]
        print("  " + "\n  ".join(tail[-12:]))
        if stages or not met:
            stage_dir = tmp / "stages"
            (stage_dir / "out").mkdir(parents=True, exist_ok=True)
            (stage_dir / "maps").mkdir(parents=True, exist_ok=True)
            script = stage_dir / "stages.py"
            script.write_text(_STAGES, encoding="utf-8")
            cmd = [
                sys.executable,
                str(script),
                str(scenario or "-"),
                str(files["villages.parquet"]),
                str(files["towers.parquet"]),
                str(SHARED / "vn_provinces34.geojson"),
                str(stage_dir / "out"),
                str(stage_dir / "maps"),
            ]
            before = os.getloadavg()
            replay = watch(cmd, stage_dir, timeout_s, max_gb)
            after = os.getloadavg()
            print(
                f"stage by stage (the same run in one process, pipeline.run's covgap calls "
                f"timed): exit {replay.code if replay.code is not None else 'killed'}, "
                f"{replay.wall_s:.1f} s, peak RSS {replay.maxrss_mb:,.0f} MB; load average "
                f"{before[0]:.1f} before, {after[0]:.1f} after"
            )
            records = _stage_records(replay.output)
            print("  " + "\n  ".join(_stage_table(records, replay)))
            if replay.code != 0:
                print("  " + "\n  ".join(_last_stack(replay.output)))


# --------------------------------------------------------------------------- 5. dask


def dask_engine(n_villages: int, n_sites: int, repeats_workers: tuple[int, ...]) -> None:
    with section(f"5. dask engine on {n_villages:,} villages"):
        t0 = time.perf_counter()
        big = build_national(
            SHARED,
            spec=national_spec(
                n_villages=n_villages, n_sites=n_sites, measured_share=0.0, assigned_share=0.0
            ),
        )
        villages = big.villages
        towers = big.towers.loc[big.towers["technology"] == "4G"].reset_index(drop=True)
        del big
        print(
            f"built {len(villages):,} villages and {len(towers):,} 4G sector rows in "
            f"{time.perf_counter() - t0:.0f} s"
        )
        # Each village's result depends on the towers only, not on the other villages: the
        # single-machine engine on a random subset gives exactly those villages' rows.
        rng = np.random.default_rng(4)
        check = np.sort(rng.choice(len(villages), size=min(50_000, len(villages)), replace=False))
        t0 = time.perf_counter()
        single = assess_villages(villages.iloc[check], towers)
        t_single = time.perf_counter() - t0
        rate_single = single.n_pairs / t_single
        print(
            f"single machine (assess_villages, numba on all cores) on a random {len(check):,} of "
            f"them, the rows the dask results are checked against: {t_single:.1f} s, "
            f"{rate_single / 1e6:.1f} M pairs/s, {len(check) / t_single:,.0f} villages/s"
        )
        for workers in repeats_workers:
            settings = DaskSettings(n_workers=workers, processes=True, partition_villages=50_000)
            t0 = time.perf_counter()
            with dask_client(settings) as client:
                t_start = time.perf_counter() - t0
                compile_s = warm_up(client)
                gc.collect()
                with PeakRSS() as mem:
                    t0 = time.perf_counter()
                    got = assess_villages_dask(
                        villages, towers, dask_settings=settings, client=client
                    )
                    wall = time.perf_counter() - t0
            try:
                pd.testing.assert_frame_equal(
                    single.villages, got.villages.iloc[check], check_exact=True
                )
                equal = True
            except AssertionError:
                equal = False
            print(
                f"dask, LocalCluster {workers} worker process(es) × 1 task thread, numba "
                f"{max(1, (os.cpu_count() or 1) // workers)} thread(s) each: {wall:.1f} s for "
                f"{math.ceil(len(villages) / 50_000)} partitions, {got.n_pairs / wall / 1e6:.1f} M "
                f"pairs/s, {len(villages) / wall:,.0f} villages/s "
                f"({got.n_pairs / wall / rate_single:.2f}× the single machine's pairs/s); "
                f"cluster start {t_start:.1f} s, kernel compile per worker "
                f"{', '.join(f'{s:.1f}' for s in compile_s.values())} s (not in the time); "
                f"RSS of this process and its workers +{mem.peak_mb - mem.start_mb:,.0f} MB "
                f"at peak; "
                f"rows equal to the single machine's on the {len(check):,} checked: {equal}"
            )
            del got
            gc.collect()


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--villages", type=int, default=100_000, help="national villages")
    ap.add_argument("--sites", type=int, default=120_000, help="national sites (× ≈ 6 rows)")
    ap.add_argument("--repeats", type=int, default=2, help="analysis runs (best is kept)")
    ap.add_argument("--naive", type=int, default=100_000, help="villages, naive baseline")
    ap.add_argument("--dask-villages", type=int, default=1_000_000)
    ap.add_argument("--dask-workers", default="1,2", help="LocalCluster sizes, comma-separated")
    ap.add_argument("--run-timeout", type=float, default=120.0, help="s before the run is killed")
    ap.add_argument("--run-max-gb", type=float, default=8.0, help="RSS before the run is killed")
    ap.add_argument("--stages", action="store_true", help="always replay the run stage by stage")
    ap.add_argument(
        "--scenario",
        default=str(SCENARIO),
        help="scenario of the full run (default the demo's; 'defaults' for none)",
    )
    ap.add_argument(
        "--skip", default="", help="sections to leave out: io,analysis (and naive),naive,run,dask"
    )
    ap.add_argument(
        "--data",
        type=Path,
        help="folder of national files to reuse (villages.parquet, towers.parquet; and "
        "villages.geojson, towers.csv for section 1b): the generator is skipped when they are "
        "there, else it writes them there",
    )
    args = ap.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if not SHARED.is_dir():
        print(f"../shared/data not found at {SHARED}: the national generator needs it")
        return 2
    t_all = time.perf_counter()
    print(machine())
    print(FLOORS)
    with tempfile.TemporaryDirectory(prefix="covgap-national-") as d:
        tmp = Path(d)
        result, files = national_data(args.data, tmp, skip, args.villages, args.sites)
        if "io" not in skip:
            read_back(files)
        if "analysis" not in skip:
            wall, kernel = analysis(result, args.repeats)
            if "naive" not in skip:
                naive(result, wall, kernel, args.naive)
            del kernel
        if "run" not in skip:
            scenario = None if args.scenario == "defaults" else Path(args.scenario)
            full_run(files, tmp, args.run_timeout, args.run_max_gb, args.stages, scenario)
        del result
        gc.collect()
        if "dask" not in skip:
            workers = tuple(int(w) for w in args.dask_workers.split(",") if w.strip())
            dask_engine(args.dask_villages, args.sites, workers)
    print(f"\n{machine()}")
    print(f"total {time.perf_counter() - t_all:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
