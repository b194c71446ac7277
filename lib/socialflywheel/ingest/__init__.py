"""Ingestion: landing files -> bronze (validated, reconciled) -> silver (pseudonymized, deduplicated)."""

from socialflywheel.ingest.bronze import IngestResult, run_ingest
from socialflywheel.ingest.conform import ConformResult, run_conform

__all__ = ["ConformResult", "IngestResult", "run_conform", "run_ingest"]
