"""Ingestion: landing files -> bronze (validated, reconciled) -> silver (pseudonymized, deduplicated)."""

from socialflywheel.ingest.bronze import run_ingest
from socialflywheel.ingest.conform import run_conform

__all__ = ["run_conform", "run_ingest"]
