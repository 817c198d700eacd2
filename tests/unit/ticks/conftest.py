"""These tests build on the in-process roles harness (tests/unit/roles/roles_harness.py)."""

import sys
from pathlib import Path

ROLES_TESTS = str(Path(__file__).resolve().parents[1] / "roles")
if ROLES_TESTS not in sys.path:
    sys.path.insert(0, ROLES_TESTS)
