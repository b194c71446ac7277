"""The Flower venv, shared by the federated tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def flower_venv() -> Path:
    """The Flower venv, made by scripts/flower_venv.sh when missing (idempotent)."""
    subprocess.run(["bash", str(REPO / "scripts" / "flower_venv.sh")], check=True, timeout=1800)
    return REPO / ".venv-flower" / "bin" / "python"
