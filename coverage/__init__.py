"""covgap: mobile-coverage gap planning for Vietnam's low-signal villages.

The source folder is ``coverage/`` but the import package is ``covgap`` (see
DESIGN §2): ``import coverage`` must keep meaning coverage.py.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
