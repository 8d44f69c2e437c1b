"""Determinism (issue 8): ``covgap run`` twice on the same inputs and seed writes the same
bytes — maps, exports, schedule, report — and ``manifest.json`` differs only in its
timestamps; and a run killed (SIGKILL) at any moment leaves the previous outputs whole.

``tests/test_cli.py`` checks this on the small hand-made CSVs. Here the same villages and
towers come in the awkward formats instead: villages as a GeoPackage in VN-2000 / UTM 48N
(EPSG:3405) with markup, template syntax, NFD and zero-width characters in names, towers as
a zipped Shapefile with truncated field names. The two runs start in different folders and
with different Python hash seeds (set and dict orders that leak into outputs show up).
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
import unicodedata
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
from conftest import COVGAP, SHARED, TEST_DATA

HOSTILE = {
    "V003": "<script>alert(1)</script> Bản Sín Thầu {{7*7}}",
    "V004": unicodedata.normalize("NFD", "Bản Mường\u200b Lay") + " ${alert(1)}",
    "V005": '</textarea>"Ngọc Đường" & co',
}


def _write_inputs(folder: Path) -> tuple[Path, Path]:
    villages = pd.read_csv(TEST_DATA / "villages_small.csv", dtype=str, keep_default_na=False)
    villages["name"] = [
        HOSTILE.get(v, n) for v, n in zip(villages["village_id"], villages["name"], strict=True)
    ]
    geometry = gpd.points_from_xy(villages["lon"].astype(float), villages["lat"].astype(float))
    gdf = gpd.GeoDataFrame(villages.drop(columns=["lon", "lat"]), geometry=geometry, crs=4326)
    vpath = folder / "villages_vn2000.gpkg"
    gdf.to_crs(3405).to_file(vpath, layer="villages", driver="GPKG")

    towers = pd.read_csv(TEST_DATA / "towers_small.csv", dtype=str, keep_default_na=False)
    geometry = gpd.points_from_xy(towers["lon"].astype(float), towers["lat"].astype(float))
    tgdf = gpd.GeoDataFrame(towers.drop(columns=["lon", "lat"]), geometry=geometry, crs=4326)
    shp = folder / "shp"
    shp.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GDAL truncating field names to 10 characters
        tgdf.to_file(shp / "towers.shp", driver="ESRI Shapefile", encoding="UTF-8")
    tpath = folder / "towers_shp.zip"
    with zipfile.ZipFile(tpath, "w", zipfile.ZIP_DEFLATED) as zf:
        for part in sorted(shp.iterdir()):
            zf.write(part, part.name)
    return vpath, tpath


def _scenario(folder: Path, villages: Path, towers: Path) -> Path:
    bnd = SHARED / "data" / "vn_provinces34.geojson"
    boundaries = f'boundaries = "{bnd}"' if bnd.exists() else ""
    path = folder / "awkward.toml"
    path.write_text(
        f"""name = "awkward inputs"
seed = 11

[inputs]
villages = "{villages}"
towers = "{towers}"
{boundaries}

[schedule]
max_deterministic_time = 1.0
default_crew_count = 1
""",
        encoding="utf-8",
    )
    return path


def _run(cwd: Path, scenario: Path, hash_seed: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "COLUMNS": "200",
        "HOME": str(cwd),
        "PYTHONHASHSEED": hash_seed,
    }
    return subprocess.run(
        [str(COVGAP), "run", "--scenario", str(scenario), "--out", "out", "--maps", "maps"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


def _files(root: Path) -> dict[str, Path]:
    return {
        str(p.relative_to(root)): p
        for sub in ("out", "maps")
        for p in sorted((root / sub).rglob("*"))
        if p.is_file()
    }


def test_run_twice_on_awkward_inputs_is_byte_identical(tmp_path: Path) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    scenario = _scenario(inputs, *_write_inputs(inputs))
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    for cwd, seed in ((first, "1"), (second, "2")):
        res = _run(cwd, scenario, seed)
        assert res.returncode == 0, res.stdout + res.stderr
        assert "Traceback" not in res.stdout + res.stderr

    a, b = _files(first), _files(second)
    assert sorted(a) == sorted(b)
    for expected in ("out/villages_assessed.gpkg", "out/schedule.csv", "maps/coverage_map.html"):
        assert expected in a
    assert any(name.startswith("out/exports/") and name.endswith(".geojson") for name in a)
    different = [
        n for n in a if n != "out/manifest.json" and a[n].read_bytes() != b[n].read_bytes()
    ]
    assert different == []

    # manifest.json: only the timestamps differ
    ma = json.loads(a["out/manifest.json"].read_text(encoding="utf-8"))
    mb = json.loads(b["out/manifest.json"].read_text(encoding="utf-8"))
    stamps = {k for k in ma if k.endswith("_utc")}
    assert stamps, "manifest.json has no timestamps"
    assert {k: v for k, v in ma.items() if k not in stamps} == {
        k: v for k, v in mb.items() if k not in stamps
    }

    # the hostile names went through as data (normalised), never as markup
    assessed = gpd.read_file(a["out/villages_assessed.gpkg"]).set_index("village_id")
    assert assessed.loc["V003", "name"] == HOSTILE["V003"]
    assert assessed.loc["V004", "name"] == "Bản Mường Lay ${alert(1)}"
    page = a["maps/coverage_map.html"].read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in page and "</textarea>" not in page


def test_a_run_killed_at_any_moment_leaves_the_previous_outputs_intact(tmp_path: Path) -> None:
    """SIGKILL ``covgap run`` at several moments while it rewrites a previous run's outputs:
    every output file is then still the previous run's, byte for byte (the runs are
    deterministic, so a complete rewrite is the same bytes and a half-written file would
    show); only hidden temporaries (``.name.*``) may be left."""
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    scenario = _scenario(inputs, *_write_inputs(inputs))
    work = tmp_path / "work"
    work.mkdir()
    start = time.perf_counter()
    res = _run(work, scenario, "3")
    duration = time.perf_counter() - start
    assert res.returncode == 0, res.stdout + res.stderr
    before = {name: p.read_bytes() for name, p in _files(work).items()}
    stamps = json.loads(before["out/manifest.json"])
    env = {"PATH": "/usr/bin:/bin", "COLUMNS": "200", "HOME": str(work)}
    args = [str(COVGAP), "run", "--scenario", str(scenario), "--out", "out", "--maps", "maps"]
    for fraction in (0.25, 0.5, 0.7, 0.85):
        proc = subprocess.Popen(
            args, cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(duration * fraction)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        after = _files(work)
        visible = {n for n in after if not Path(n).name.startswith(".")}
        assert visible == set(before), fraction
        for name in visible:
            data = after[name].read_bytes()
            if name == "out/manifest.json":
                manifest = json.loads(data)  # whole: old or new, never half
                assert {k: v for k, v in manifest.items() if not k.endswith("_utc")} == {
                    k: v for k, v in stamps.items() if not k.endswith("_utc")
                }
            else:
                assert data == before[name], (fraction, name)
