"""The installed package is `covgap`; `import coverage` stays coverage.py (DESIGN §2)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]


def test_covgap_beside_coverage_py_and_numba(tmp_path: Path) -> None:
    code = (
        "import json, covgap, coverage, coverage.types, numba\n"
        "print(json.dumps({'covgap': covgap.__file__, 'coverage': coverage.__file__,"
        " 'has_types': hasattr(coverage, 'types'), 'numba': numba.__version__,"
        " 'cov_version': coverage.__version__}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    info = json.loads(out.stdout)
    assert Path(info["covgap"]).resolve() == PROJECT / "coverage" / "__init__.py"
    assert "site-packages" in info["coverage"], info["coverage"]
    assert Path(info["coverage"]).resolve() != PROJECT / "coverage" / "__init__.py"
    assert info["has_types"]
    assert info["cov_version"][0].isdigit()


def test_in_process_coverage_is_coverage_py() -> None:
    import coverage

    assert hasattr(coverage, "Coverage"), "import coverage found the project folder"
    assert Path(coverage.__file__).resolve().parent != PROJECT / "coverage"


def test_console_script_runs() -> None:
    exe = Path(sys.executable).with_name("covgap")
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip().startswith("covgap ")
