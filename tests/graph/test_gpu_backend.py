"""The cuGraph backend against the NetworKit backend (the CPU oracle) on random digraphs with sinks.

Marked ``gpu``: skipped where no CUDA device is visible, and where RAPIDS cuGraph is not installed (the lent GPU
image has PyTorch and CuPy, not RAPIDS).
"""

from __future__ import annotations

import numpy as np
import pytest

from .helpers import random_digraph_with_sinks, to_coo

pytestmark = pytest.mark.gpu


def test_cugraph_backend_matches_networkit() -> None:
    """PageRank, degrees, core numbers, triangles and components of cuGraph against the NetworKit backend."""
    pytest.importorskip("cugraph", reason="RAPIDS cuGraph is not installed (pip install '.[gpu]')")
    from socialflywheel.graph.backends.cugraph import CugraphBackend
    from socialflywheel.graph.backends.networkit import NetworkitBackend

    gpu, cpu = CugraphBackend(), NetworkitBackend(threads=2)
    for seed in range(3):
        graph, _ = to_coo(random_digraph_with_sinks(300 + 100 * seed, 0.02, seed))
        assert np.max(np.abs(gpu.pagerank(graph, tol=1e-10) - cpu.pagerank(graph, tol=1e-10))) < 1e-6
        g_deg, c_deg = gpu.degrees(graph), cpu.degrees(graph)
        assert g_deg.in_degree.tolist() == c_deg.in_degree.tolist()
        assert g_deg.out_degree.tolist() == c_deg.out_degree.tolist()
        assert gpu.core_number(graph).tolist() == cpu.core_number(graph).tolist()
        assert gpu.triangles(graph).triangles.tolist() == cpu.triangles(graph).triangles.tolist()
        g_wcc, c_wcc = gpu.weakly_connected_components(graph), cpu.weakly_connected_components(graph)
        assert len(set(g_wcc.tolist())) == len(set(c_wcc.tolist()))
