"""Graph backends behind one interface: NetworKit (CPU) and cuGraph (GPU, optional)."""

from socialflywheel.graph.backends.base import (
    Communities,
    Degrees,
    Graph,
    GraphBackend,
    Triangles,
    canonical_labels,
    modularity,
)

__all__ = ["Communities", "Degrees", "Graph", "GraphBackend", "Triangles", "canonical_labels", "modularity"]
