"""Graph benchmark: NetworKit vs igraph (and NetworkX on a smaller graph), time and peak memory per algorithm.

Each (library, algorithm) runs in its own child process that loads the same seeded edge list, so
peak RSS (``ru_maxrss``) belongs to that one algorithm. Also measures a STREAM-like copy bandwidth
and compares one NetworKit PageRank iteration with the memory-bandwidth floor of a CSR iteration.

    python bench/bench_graph.py                       # 1M nodes / 10M edges, NetworkX on 20k / 200k
    python bench/bench_graph.py --nodes 100000 --edges 1000000 --small-nodes 5000 --small-edges 50000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "graph.json"
THREADS = os.cpu_count() or 1
# Sleeping rather than spinning OpenMP workers: on a shared, oversubscribed machine spinning threads
# make NetworKit's short parallel loops wait for descheduled peers (override by exporting it).
CHILD_ENV = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}


def generate(nodes: int, edges: int, *, seed: int = 7, community_size: int = 1000, local: float = 0.9) -> np.ndarray:
    """A directed power-law graph with planted communities (vectorized, seeded); returns a (m, 2) int64 array.

    Out- and in-degrees follow a Pareto-like popularity; a share ``local`` of each node's edges stay
    in its community (contiguous id blocks), then ids are shuffled so memory locality is not flattered.
    """
    rng = np.random.default_rng(seed)
    target = edges
    edges = int(edges * 1.25)  # oversample: self-loops and repeated arcs are dropped, then cut to ``target``
    popularity = 1.0 / np.arange(1, community_size + 1) ** 0.8  # Zipf rank within a community
    cum_local = np.cumsum(popularity) / popularity.sum()
    global_pop = rng.pareto(1.5, nodes) + 1.0
    cum_global = np.cumsum(global_pop) / global_pop.sum()
    src = np.minimum(np.searchsorted(cum_global, rng.random(edges)), nodes - 1)
    dst = np.minimum(np.searchsorted(cum_global, rng.random(edges)), nodes - 1)
    inside = rng.random(edges) < local
    block_start = (src[inside] // community_size) * community_size
    offset = np.searchsorted(cum_local, rng.random(int(inside.sum())))
    dst[inside] = np.minimum(block_start + offset, nodes - 1)
    perm = rng.permutation(nodes)
    pairs = np.column_stack([perm[src], perm[dst]])
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    key = np.unique(pairs[:, 0] * nodes + pairs[:, 1])  # simple digraph: no duplicate arcs
    if len(key) > target:
        key = np.sort(rng.choice(key, size=target, replace=False))
    return np.column_stack([key // nodes, key % nodes]).astype(np.int64)


# Child side ---------------------------------------------------------------------------------------
def _rss_mb() -> float:
    """Peak RSS of this process: VmHWM, which restarts at exec (ru_maxrss keeps the forking parent's peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _networkit(task: str, pairs: np.ndarray, n: int, samples: int) -> dict[str, Any]:
    import networkit as nk

    from socialflywheel.graph.backends.base import Graph

    nk.setNumberOfThreads(THREADS)
    nk.engineering.setSeed(7, True)
    t = time.perf_counter()
    directed = task in ("pagerank", "betweenness")
    src, dst = np.ascontiguousarray(pairs[:, 0]), np.ascontiguousarray(pairs[:, 1])
    graph = Graph(src, dst, np.ones(len(pairs)), n, True)
    g = graph if directed else graph.symmetrized()
    G = nk.GraphFromCoo((g.src, g.dst), n=n, directed=g.directed)
    build = time.perf_counter() - t
    extra: dict[str, Any] = {}
    t = time.perf_counter()
    if task == "pagerank":
        sinks = nk.centrality.SinkHandling.DistributeSinks
        algo = nk.centrality.PageRank(G, damp=0.85, tol=1e-8, distributeSinks=sinks)
        algo.run()
        extra["iterations"] = int(algo.numberOfIterations())
    elif task == "leiden":
        algo = nk.community.ParallelLeiden(G, randomize=True, iterations=3)
        algo.run()
        extra["modularity"] = nk.community.Modularity().getQuality(algo.getPartition(), G)
    elif task == "louvain":
        algo = nk.community.PLM(G, refine=False)
        algo.run()
        extra["modularity"] = nk.community.Modularity().getQuality(algo.getPartition(), G)
    elif task == "kcore":
        nk.centrality.CoreDecomposition(G).run()
    elif task == "betweenness":
        nk.centrality.EstimateBetweenness(G, samples, normalized=True, parallel=True).run()
    return {"build_s": build, "seconds": time.perf_counter() - t, **extra}


def _igraph(task: str, pairs: np.ndarray, n: int, samples: int) -> dict[str, Any]:
    import igraph as ig

    t = time.perf_counter()
    G = ig.Graph(n=n, edges=pairs, directed=True)
    if task in ("leiden", "kcore", "louvain"):
        G.to_undirected(mode="collapse")
    build = time.perf_counter() - t
    extra: dict[str, Any] = {}
    t = time.perf_counter()
    if task == "pagerank":
        G.pagerank(damping=0.85, implementation="prpack")
    elif task == "leiden":
        part = G.community_leiden(objective_function="modularity", n_iterations=3)
        extra["modularity"] = part.modularity
    elif task == "louvain":
        extra["modularity"] = G.community_multilevel().modularity
    elif task == "kcore":
        G.coreness(mode="all")
    return {"build_s": build, "seconds": time.perf_counter() - t, **extra}


def _networkx(task: str, pairs: np.ndarray, n: int, samples: int) -> dict[str, Any]:
    import networkx as nx

    t = time.perf_counter()
    G = nx.DiGraph()
    G.add_nodes_from(range(n))
    G.add_edges_from(pairs.tolist())
    U = nx.Graph(G) if task in ("louvain", "leiden", "kcore") else None
    build = time.perf_counter() - t
    extra: dict[str, Any] = {}
    t = time.perf_counter()
    if task == "pagerank":
        nx.pagerank(G, alpha=0.85, tol=1e-8)
    elif task == "louvain":
        comms = nx.community.louvain_communities(U, seed=7)
        extra["modularity"] = nx.community.modularity(U, comms)
    elif task == "kcore":
        nx.core_number(U)
    elif task == "betweenness":
        nx.betweenness_centrality(G, k=samples, seed=7)
    return {"build_s": build, "seconds": time.perf_counter() - t, **extra}


def child(lib: str, task: str, path: str, n: int, samples: int) -> None:
    pairs = np.load(path)
    base = _rss_mb()
    fn = {"networkit": _networkit, "igraph": _igraph, "networkx": _networkx}[lib]
    out = fn(task, pairs, n, samples)
    out.update(rss_before_mb=round(base, 1), peak_rss_mb=round(_rss_mb(), 1))
    print("RESULT " + json.dumps(out), flush=True)


# Parent side --------------------------------------------------------------------------------------
def run_child(lib: str, task: str, path: Path, n: int, m: int, *, samples: int, timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", lib, task, str(path), str(n), str(samples)]
    row: dict[str, Any] = {"library": lib, "algorithm": task, "nodes": n, "edges": m}
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=CHILD_ENV)
    except subprocess.TimeoutExpired:
        row.update(status=f"timeout after {timeout:.0f} s")
        return row
    lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        row.update(status="failed: " + (proc.stderr.strip().splitlines() or ["?"])[-1][:200])
        return row
    row.update(json.loads(lines[-1][7:]), status="ok", wall_s=round(time.perf_counter() - start, 2))
    row["seconds_per_million_edges"] = row["seconds"] / (m / 1e6)
    return row


def copy_bandwidth(*, mb: int = 400, repeats: int = 5) -> dict[str, float]:
    """STREAM-like copy: bytes read + written per second, one thread and one NumPy copy per core."""
    n = mb * 1024 * 1024 // 8
    a = np.ones(n)
    b = np.empty_like(a)
    best1 = min(_timed(lambda: np.copyto(b, a)) for _ in range(repeats))
    chunks = np.array_split(np.arange(n), THREADS)
    bounds = [(int(c[0]), int(c[-1]) + 1) for c in chunks]

    def parallel() -> None:
        threads = [threading.Thread(target=np.copyto, args=(b[lo:hi], a[lo:hi])) for lo, hi in bounds]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    bestp = min(_timed(parallel) for _ in range(repeats))
    return {"single_thread_gb_s": 2 * a.nbytes / best1 / 1e9, "all_threads_gb_s": 2 * a.nbytes / bestp / 1e9}


def _timed(fn: Any) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def pagerank_floor(n: int, m: int, bandwidth_gb_s: float, measured_iter_s: float | None) -> dict[str, Any]:
    """Bytes one pull-style PageRank iteration must move at least, and the time that takes at ``bandwidth``.

    Per edge: the source id (4 bytes in a compact CSR, 8 in NetWorKit's 64-bit ``node`` adjacency) and
    the gathered score of that source (8 bytes, assuming every gather hits memory once); per node:
    read the old score and 1/out-degree, write the new score (24 bytes).
    """
    out: dict[str, Any] = {"bandwidth_gb_s": bandwidth_gb_s}
    for name, idx in (("csr32", 4), ("networkit64", 8)):
        nbytes = m * (idx + 8) + n * 24
        floor = nbytes / (bandwidth_gb_s * 1e9)
        out[name] = {"bytes_per_iteration": nbytes, "floor_s": floor}
        if measured_iter_s:
            out[name]["measured_over_floor"] = measured_iter_s / floor
    out["measured_iteration_s"] = measured_iter_s
    return out


def scipy_spmv_iteration(pairs: np.ndarray, n: int, *, repeats: int = 5) -> float:
    """Seconds of one CSR matrix-vector product (int32 indices, SciPy, one thread): a simple reference."""
    import scipy.sparse as sp

    A = sp.csr_matrix((np.ones(len(pairs)), (pairs[:, 1].astype(np.int32), pairs[:, 0].astype(np.int32))), shape=(n, n))
    x = np.full(n, 1.0 / n)
    return min(_timed(lambda: A @ x) for _ in range(repeats))


def table(rows: list[dict[str, Any]], floor: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title="graph algorithms (child process each; peak RSS includes the loaded edge list)")
    for col in ("library", "algorithm", "nodes", "edges", "build s", "algo s", "s / M edges", "peak MB", "note"):
        t.add_column(col)
    for r in rows:
        note = (
            r["status"]
            if r["status"] != "ok"
            else ", ".join(
                f"{k}={r[k]:.4f}" if isinstance(r[k], float) else f"{k}={r[k]}"
                for k in ("iterations", "modularity")
                if k in r
            )
        )
        ok = r["status"] == "ok"
        t.add_row(
            r["library"],
            r["algorithm"],
            f"{r['nodes']:,}",
            f"{r['edges']:,}",
            f"{r['build_s']:.2f}" if ok else "-",
            f"{r['seconds']:.2f}" if ok else "-",
            f"{r['seconds_per_million_edges']:.3f}" if ok else "-",
            f"{r['peak_rss_mb']:.0f}" if ok else "-",
            note,
        )
    console = Console(width=170)
    console.print(t)
    console.print(json.dumps(floor, indent=1))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nodes", type=int, default=1_000_000)
    p.add_argument("--edges", type=int, default=10_000_000)
    p.add_argument("--small-nodes", type=int, default=20_000, help="NetworkX graph size (it is ~100x slower)")
    p.add_argument("--small-edges", type=int, default=200_000)
    p.add_argument("--samples", type=int, default=64, help="betweenness source samples")
    p.add_argument("--timeout", type=float, default=300, help="seconds before a child is abandoned")
    p.add_argument("--skip-igraph-louvain", action="store_true", default=True)
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--child", nargs=5, metavar=("LIB", "TASK", "PATH", "N", "SAMPLES"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        lib, task, path, n, samples = args.child
        child(lib, task, path, int(n), int(samples))
        return
    rows: list[dict[str, Any]] = []
    started = time.time()
    timeout = args.timeout
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-graph-") as tmp:
        t = time.perf_counter()
        big = generate(args.nodes, args.edges)
        gen_s = time.perf_counter() - t
        small = generate(args.small_nodes, args.small_edges, community_size=200)
        big_path, small_path = Path(tmp) / "big.npy", Path(tmp) / "small.npy"
        np.save(big_path, big)
        np.save(small_path, small)
        m_big = len(big)
        del big  # children load their own copy; keep the parent small
        print(f"generated {args.nodes:,} nodes / {m_big:,} edges in {gen_s:.1f} s; load {os.getloadavg()}", flush=True)
        plan = [("networkit", a) for a in ("pagerank", "leiden", "louvain", "kcore", "betweenness")]
        plan += [("igraph", a) for a in ("pagerank", "leiden", "kcore")]
        for lib, task in plan:
            rows.append(run_child(lib, task, big_path, args.nodes, m_big, samples=args.samples, timeout=timeout))
            print(json.dumps(rows[-1]), flush=True)
        for lib in ("networkx", "networkit"):
            for task in ("pagerank", "louvain", "kcore", "betweenness"):
                n_small, m_small = args.small_nodes, len(small)
                row = run_child(lib, task, small_path, n_small, m_small, samples=args.samples, timeout=timeout)
                rows.append(row)
                print(json.dumps(rows[-1]), flush=True)
        bw = copy_bandwidth()
        spmv = scipy_spmv_iteration(np.load(big_path), args.nodes)
    pr = next(
        (
            r
            for r in rows
            if r["library"] == "networkit"
            and r["algorithm"] == "pagerank"
            and r["status"] == "ok"
            and r["nodes"] == args.nodes
        ),
        None,
    )
    per_iter = pr["seconds"] / pr["iterations"] if pr and pr.get("iterations") else None
    floor = pagerank_floor(args.nodes, m_big, bw["all_threads_gb_s"], per_iter)
    floor["copy_bandwidth"] = bw
    floor["scipy_csr_spmv_iteration_s"] = spmv
    table(rows, floor)
    result = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "machine": {
            "cpus": THREADS,
            "omp_wait_policy": CHILD_ENV["OMP_WAIT_POLICY"],
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_avg_at_start": load_start,
            "load_avg_at_end": os.getloadavg(),
        },
        "graph": {
            "nodes": args.nodes,
            "edges": m_big,
            "generator_seconds": gen_s,
            "small_nodes": args.small_nodes,
            "small_edges": len(small),
        },
        "notes": [
            "igraph Louvain (community_multilevel) is not rerun on the big graph: 481 s measured before "
            "(ARCHITECTURE.md); igraph has no source-sampled betweenness.",
            "networkit uses all cores (OpenMP); igraph and NetworkX run on one thread.",
            "The machine is shared: times are wall-clock under whatever else was running (see load_avg_*); "
            "peak RSS is VmHWM of the child and includes the loaded edge list (16 bytes per edge).",
        ],
        "rows": rows,
        "pagerank_memory_floor": floor,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
