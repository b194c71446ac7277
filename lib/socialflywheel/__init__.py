"""Social Flywheel: GPU-accelerated batch analytics over social-media interaction data."""

__version__ = "0.1.0"
