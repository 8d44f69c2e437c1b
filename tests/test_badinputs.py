"""The bad-input corpus (``tests/badinputs/``, issue 8) through the real ``covgap`` CLI.

Every case of ``badinputs/manifest.json`` is run with ``covgap validate`` (the other input
is the corpus's clean companion file) and must end exactly as the manifest says: the exit
code, the one ``error: <file>:<row>:<column>: <reason>`` line, the ``rejects.csv`` rows, the
warnings, and never a traceback. The same cases are loaded in-process to check the
normalised values of what is accepted. The expected outcomes were written by hand in
``badinputs/make_corpus.py`` from DESIGN §3, not taken from the loaders.

The resource-limit cases that need big files are built here, at test time: a zip that
really inflates to 5 GiB (5 MB on disk), a 256 GiB sparse CSV, and a 250 000-row CSV.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import COVGAP, CliRun, run_cli, shared_or_skip

from covgap import io as vio

CORPUS = Path(__file__).resolve().parent / "badinputs"
MANIFEST: dict[str, Any] = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))
CASES: list[dict[str, Any]] = MANIFEST["cases"]
LOADED_CASES = [c for c in CASES if c["outcome"] != "error"]
OTHER = {"villages": "towers", "towers": "villages"}
KEY = {"villages": "village_id", "towers": "tower_id"}
CLI_TIMEOUT_S = 120.0


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [c["id"] for c in cases]


def _corpus_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_corpus", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working folder where ``corpus/`` is the corpus (paths in messages stay short)."""
    work = tmp_path_factory.mktemp("badinputs")
    (work / "corpus").symlink_to(CORPUS, target_is_directory=True)
    return work


@pytest.fixture(scope="module")
def boundaries() -> gpd.GeoDataFrame:
    return vio.load_boundaries(shared_or_skip("data", "vn_provinces34.geojson"))


def _validate_args(case: dict[str, Any], out: Path) -> list[str]:
    other = OTHER[case["input"]]
    args = [
        "validate",
        f"--{case['input']}",
        f"corpus/{case['path']}",
        f"--{other}",
        f"corpus/{case['companion'] or MANIFEST['companions'][other]}",
        *case["args"],
        "--out",
        str(out),
    ]
    if case["boundaries"]:
        args += ["--boundaries", str(shared_or_skip("data", "vn_provinces34.geojson"))]
    return args


def _error_lines(res: CliRun) -> list[str]:
    return [line for line in res.stderr.splitlines() if line.startswith("error:")]


def _read_rejects(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


# --------------------------------------------------------------------------- the corpus


def test_manifest_matches_the_files() -> None:
    """Every case names a file of the corpus (but the missing-file case), every file of the
    corpus belongs to a case, and IDs are unique."""
    assert len({c["id"] for c in CASES}) == len(CASES)
    named = {c["path"] for c in CASES} | set(MANIFEST["companions"].values())
    named |= {c["companion"] for c in CASES if c["companion"]}
    for case in CASES:
        exists = (CORPUS / case["path"]).exists()
        assert exists == (case["id"] != "missing_file"), case["id"]
    on_disk = {
        str(p.relative_to(CORPUS))
        for folder in ("villages", "towers")
        for p in (CORPUS / folder).rglob("*")
        if p.is_file()
    }
    shapefile_dirs = {str(Path(p).parent) for p in named if p.endswith(".shp")}
    orphans = {p for p in on_disk - named if str(Path(p).parent) not in shapefile_dirs}
    assert orphans == set()


def test_corpus_regenerates_byte_for_byte(tmp_path: Path) -> None:
    """The committed corpus is what ``make_corpus.py`` writes (nothing edited by hand)."""
    script = tmp_path / "make_corpus.py"
    script.write_bytes((CORPUS / "make_corpus.py").read_bytes())
    proc = subprocess.run(
        [str(COVGAP.with_name("python")), str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
    )
    assert proc.returncode == 0, proc.stderr
    made = sorted(
        str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file() and p != script
    )
    committed = sorted(
        str(p.relative_to(CORPUS))
        for p in CORPUS.rglob("*")
        if p.is_file()
        and p.name not in ("make_corpus.py", "README.md")
        and "__pycache__" not in p.parts
    )
    assert made == committed
    for rel in made:
        assert (tmp_path / rel).read_bytes() == (CORPUS / rel).read_bytes(), rel


def test_corpus_covers_every_outcome() -> None:
    outcomes = {c["outcome"] for c in CASES}
    assert outcomes == {"error", "rejects", "accepted"}
    assert len(CASES) >= 80


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_cli_outcome(case: dict[str, Any], workdir: Path, tmp_path: Path) -> None:
    """``covgap validate`` on the case: exit code, one-line error or rejects and warnings,
    and no traceback."""
    out = tmp_path / "out"
    res = run_cli(*_validate_args(case, out), cwd=workdir, timeout_s=CLI_TIMEOUT_S)
    assert "Traceback" not in res.output
    assert "internal error" not in res.output, res.output
    assert res.returncode == case["exit_code"], res.output
    given = f"corpus/{case['path']}"
    if case["outcome"] == "error":
        lines = _error_lines(res)
        assert len(lines) == 1, res.stderr
        err = case["error"]
        where = ":".join(str(p) for p in (given, err["row"], err["column"]) if p is not None)
        assert lines[0].startswith(f"error: {where}: "), lines[0]
        assert err["reason"] in lines[0], lines[0]
        assert not (out / "rejects.csv").exists()
        return
    assert _error_lines(res) == []
    rows = _read_rejects(out / "rejects.csv")
    got = [(r["file"], r["row"], r["column"], r["value"]) for r in rows]
    want = [(given, str(r["row"]), r["column"], r["value"]) for r in case["rejects"]]
    assert got == want
    for row, expected in zip(rows, case["rejects"], strict=True):
        assert expected["reason"] in row["reason"], (row, expected)
    for warning in case["warnings"]:
        assert warning in res.stderr, (warning, res.stderr)


def _cell(gdf: gpd.GeoDataFrame, key: str, ident: str, column: str) -> Any:
    rows = gdf[gdf[key] == ident]
    assert len(rows) == 1, (ident, list(gdf[key]))
    row = rows.iloc[0]
    if column == "lon":
        return float(row.geometry.x)
    if column == "lat":
        return float(row.geometry.y)
    return row[column]


@pytest.mark.parametrize("case", LOADED_CASES, ids=_ids(LOADED_CASES))
def test_normalised_values(case: dict[str, Any], request: pytest.FixtureRequest) -> None:
    """The loaders on the cases that load: counts, rejects and the normalised values."""
    crs = case["args"][case["args"].index("--crs") + 1] if "--crs" in case["args"] else None
    bnd = request.getfixturevalue("boundaries") if case["boundaries"] else None
    load = vio.load_villages if case["input"] == "villages" else vio.load_towers
    result = load(CORPUS / case["path"], crs=crs, boundaries=bnd)
    gdf = result.gdf
    assert len(gdf) == case["n_accepted"]
    assert [(r.row, r.column, r.value) for r in result.rejects] == [
        (r["row"], r["column"], r["value"]) for r in case["rejects"]
    ]
    assert gdf.crs.to_epsg() == 4326
    key = KEY[case["input"]]
    assert all(isinstance(v, str) for v in gdf[key])  # IDs stay text
    for ident, columns in case["values"].items():
        for column, want in columns.items():
            got = _cell(gdf, key, ident, column)
            if column in ("lon", "lat"):
                assert got == pytest.approx(want, abs=case["tolerance_deg"]), (ident, column)
            elif want is None:
                assert pd.isna(got), (ident, column, got)
            elif column == "power_eta":
                assert pd.Timestamp(got).date().isoformat() == want, (ident, column)
            elif isinstance(want, bool):
                assert isinstance(got, (bool, np.bool_)) and bool(got) is want, (ident, column)
            elif isinstance(want, int):
                assert isinstance(got, (int, np.integer)), (ident, column, got)
                assert int(got) == want, (ident, column)
            elif isinstance(want, float):
                assert got == pytest.approx(want, abs=1e-9), (ident, column)
            else:
                assert isinstance(got, str) and got == want, (ident, column, got)


# --------------------------------------------------------------------------- resource limits


def _run_env(*args: str | Path, cwd: Path, extra_env: dict[str, str], timeout_s: float) -> CliRun:
    """Like ``conftest.run_cli`` with extra environment variables."""
    env = {"PATH": "/usr/bin:/bin", "COLUMNS": "200", "HOME": str(cwd), **extra_env}
    proc = subprocess.run(
        [str(COVGAP), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env=env,
    )
    return CliRun(proc.returncode, proc.stdout, proc.stderr)


def test_zip_bomb_generator_is_honest(tmp_path: Path) -> None:
    """The bombs below really inflate to what they declare (checked on a small one)."""
    make = _corpus_module()
    path = make.zip_bomb(tmp_path / "small.zip", 32 * 1024**2)
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None  # every member inflates and matches its CRC
        info = zf.getinfo("villages.shp")
        assert info.file_size == 32 * 1024**2
        assert zf.read("villages.shp") == bytes(32 * 1024**2)
    assert path.stat().st_size < 64 * 1024


def test_real_multi_gigabyte_zip_bomb_is_refused_fast(tmp_path: Path) -> None:
    make = _corpus_module()
    bomb = make.zip_bomb(tmp_path / "bomb.zip", 5 * 1024**3)
    assert bomb.stat().st_size < 8 * 1024**2  # 5 GiB unpacked, a few MB on disk
    with zipfile.ZipFile(bomb) as zf, zf.open("villages.shp") as fh:
        assert fh.read(1 << 20) == bytes(1 << 20)  # it does inflate
    towers = CORPUS / "towers" / "good.csv"
    start = time.perf_counter()
    res = run_cli("validate", "--villages", bomb, "--towers", towers, cwd=tmp_path, timeout_s=60)
    elapsed = time.perf_counter() - start
    assert res.returncode == 2, res.output
    assert "Traceback" not in res.output
    (line,) = _error_lines(res)
    assert line.startswith(f"error: {bomb}: zip member 'villages.shp' expands")
    assert "refusing a possible zip bomb" in line
    assert elapsed < 30  # inflating 5 GiB alone takes longer than that


def test_file_larger_than_memory_is_refused_before_reading(tmp_path: Path) -> None:
    huge = tmp_path / "huge.csv"
    with open(huge, "wb") as fh:
        fh.write(b"village_id,name,province_code,province,population,electrified,lon,lat\n")
        fh.truncate(256 * 1024**3)  # sparse: 256 GiB that take no disk
    towers = CORPUS / "towers" / "good.csv"
    start = time.perf_counter()
    res = run_cli("validate", "--villages", huge, "--towers", towers, cwd=tmp_path, timeout_s=60)
    assert time.perf_counter() - start < 30
    assert res.returncode == 2, res.output
    (line,) = _error_lines(res)
    assert line.startswith(f"error: {huge}: too large to load: 256.00 GiB of CSV needs about ")
    assert "split the file" in line


def _big_villages_csv(path: Path, n: int) -> None:
    """``n`` villages in Hà Nội's bounding box; the last row has a negative population."""
    header = "village_id,name,province_code,province,population,electrified,power_eta,lon,lat\n"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(header)
        for i in range(1, n):
            lon = 105.70 + (i % 997) * 0.0002
            lat = 20.95 + (i % 991) * 0.0002
            power = "yes" if i % 3 else "không"
            eta = "" if i % 3 else "2025-10-01"
            pop = 100 + i % 900
            fh.write(f"V{i:07d},Thôn Số {i},01,Hà Nội,{pop},{power},{eta},{lon:.5f},{lat:.5f}\n")
        fh.write(f"V{n:07d},Thôn cuối,01,Hà Nội,-7,yes,,105.8,21.0\n")


def test_memory_limit_is_honoured(tmp_path: Path) -> None:
    big = tmp_path / "v.csv"
    _big_villages_csv(big, 20_000)  # about 1.4 MB
    towers = CORPUS / "towers" / "good.csv"
    res = _run_env(
        "validate",
        "--villages",
        big,
        "--towers",
        towers,
        cwd=tmp_path,
        extra_env={vio.MEMORY_LIMIT_ENV: "8M"},
        timeout_s=60,
    )
    assert res.returncode == 2, res.output
    (line,) = _error_lines(res)
    assert "too large to load" in line and f"{vio.MEMORY_LIMIT_ENV}=8M is 8 MiB" in line
    bad = _run_env(
        "validate", "--villages", big, "--towers", towers,
        cwd=tmp_path, extra_env={vio.MEMORY_LIMIT_ENV: "lots"}, timeout_s=60,
    )  # fmt: skip
    assert bad.returncode == 2 and "is not a size" in _error_lines(bad)[0]


def test_large_csv_is_read_to_the_last_row(tmp_path: Path) -> None:
    """250 000 villages (2.5 times the national case) through ``covgap validate`` within the
    timeout; the bad value on the very last row is found, so nothing was cut short."""
    n = 250_000
    big = tmp_path / "villages_250k.csv"
    _big_villages_csv(big, n)
    assert big.stat().st_size > 15 * 1024**2
    towers = CORPUS / "towers" / "good.csv"
    res = run_cli(
        "validate", "--villages", big.name, "--towers", towers, "--out", "out",
        cwd=tmp_path, timeout_s=300,
    )  # fmt: skip
    assert res.returncode == 0, res.output
    assert "Traceback" not in res.output
    rows = _read_rejects(tmp_path / "out" / "rejects.csv")
    assert [(r["file"], r["row"], r["column"], r["value"]) for r in rows] == [
        (big.name, str(n), "population", "-7")
    ]


def test_a_refused_zip_leaves_nothing_behind(workdir: Path, tmp_path: Path) -> None:
    """A zip refused half-way through its extraction leaves no file in --out, beside the
    input or in the temporary folder."""
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    before = sorted(p.name for p in (CORPUS / "villages").iterdir())
    case = next(c for c in CASES if c["id"] == "zip_lying_sizes")
    res = _run_env(
        *_validate_args(case, tmp_path / "out"),
        cwd=workdir,
        extra_env={"TMPDIR": str(private_tmp)},
        timeout_s=60,
    )
    assert res.returncode == 2, res.output
    assert "is corrupt or its headers lie about it" in _error_lines(res)[0]
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in (CORPUS / "villages").iterdir()) == before
    assert list(private_tmp.iterdir()) == []


def test_reliability_doc_has_a_row_per_class() -> None:
    """``docs/reliability.md`` sums up every class of the corpus."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "reliability.md").read_text(
        encoding="utf-8"
    )
    rows = {line.split("|")[1].strip() for line in doc.splitlines() if line.startswith("| ")}
    assert {c["class"] for c in CASES} - rows == set()
