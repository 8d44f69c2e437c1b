"""Shared fixtures: paths, the small hand-made data set, running the installed CLI."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

PROJECT = Path(__file__).resolve().parents[1]
SHARED = PROJECT.parent / "shared"
TEST_DATA = Path(__file__).resolve().parent / "data"
COVGAP = Path(sys.executable).with_name("covgap")


@dataclass(frozen=True)
class CliRun:
    """A finished ``covgap`` process."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_cli(*args: str | Path, cwd: Path, timeout_s: float = 300.0) -> CliRun:
    """Run the installed ``covgap`` console script (as a user would) in ``cwd``."""
    proc = subprocess.run(
        [str(COVGAP), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200", "HOME": str(cwd)},
    )
    return CliRun(proc.returncode, proc.stdout, proc.stderr)


def shared_or_skip(*parts: str) -> Path:
    """A path under ``../shared``, or skip the test when ``../shared`` is absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is absent: this test reads the shared base data in place")
    path = SHARED.joinpath(*parts)
    assert path.exists(), f"{path} is missing from ../shared"
    return path


def write_small_scenario(folder: Path, *, boundaries: Path | None = None, extra: str = "") -> Path:
    """A scenario over ``tests/data`` (7 villages, 4 towers) with quick solver limits."""
    bnd = f'boundaries = "{boundaries}"' if boundaries is not None else ""
    text = f"""
name = "small"
seed = 7

[inputs]
villages = "{TEST_DATA / "villages_small.csv"}"
towers = "{TEST_DATA / "towers_small.csv"}"
{bnd}

[schedule]
max_deterministic_time = 1.0
default_crew_count = 1
{extra}
"""
    path = folder / "small.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def small_scenario(tmp_path: Path) -> Path:
    """The small scenario, with the shared province boundaries when ``../shared`` exists."""
    bnd = SHARED / "data" / "vn_provinces34.geojson"
    return write_small_scenario(tmp_path, boundaries=bnd if bnd.exists() else None)


def two_solar_sites(deadline: str) -> pd.DataFrame:
    """Two new solar Viettel sites in province 15 (Northwest), 0.5° apart (about 56 km),
    both due ``deadline``: the smallest real input of the late-site explanations."""
    sites = pd.DataFrame(
        {
            "site_id": ["S-A", "S-B"],
            "operator": "Viettel",
            "group": "low_signal_powered",
            "kind": "new",
            "power": "solar",
            "province_code": "15",
            "lon": [105.0, 105.0],
            "lat": [21.0, 21.5],
        }
    )
    sites["deadline"] = pd.to_datetime([deadline] * 2).astype("datetime64[s]")
    return sites
