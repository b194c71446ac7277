"""The communities drawn as a graph: one node per community shown (size by members), labelled by what it is about.

From gold.community_graph (each community's top categories and hashtags, and how many edges link it to each other
community); laid out by networkx's spring layout with a fixed seed, edges weighted by those counts, so the same
tables give the same picture. Only communities of at least k members are drawn, and only links between them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from socialflywheel.report.html import Plot, figure, new_figure

LABEL_TOPICS = 2
"""Categories and hashtags in a node's label."""


def about(row: pd.Series) -> str:
    """A community's label text: its top categories, then its top hashtags (``#tag``)."""
    cats = [str(c) for c in _items(row.get("top_categories"))][:LABEL_TOPICS]
    tags = [str(t) for t in _items(row.get("top_hashtags"))][:LABEL_TOPICS]
    return ", ".join([*cats, *(f"#{t}" for t in tags)])


def _items(value: object) -> list[object]:
    """A list cell as read by pandas (a list, a NumPy array, or None) as a list."""
    return [] if value is None else list(value)  # type: ignore[call-overload]


def abouts(graph: pd.DataFrame | None, communities: pd.Series) -> list[str]:
    """Each community's label text from gold.community_graph ("" for one it does not describe)."""
    rows = {} if graph is None else {int(r["community"]): r for _, r in graph.iterrows()}
    return [about(rows[int(c)]) if int(c) in rows else "" for c in communities]


def link_table(shown: pd.DataFrame, graph: pd.DataFrame) -> pd.DataFrame:
    """``community_a, community_b, edges`` between communities both shown, each pair once (a < b)."""
    keep = set(int(c) for c in shown["community"])
    rows = []
    for rec in graph[graph["community"].isin(keep)].to_dict("records"):
        others = rec["linked_communities"] if rec["linked_communities"] is not None else []
        counts = rec["link_edges"] if rec["link_edges"] is not None else []
        a = int(rec["community"])
        rows += [(a, int(b), int(n)) for b, n in zip(others, counts, strict=True) if int(b) in keep and a < int(b)]
    return pd.DataFrame(rows, columns=["community_a", "community_b", "edges"])


def community_map(shown: pd.DataFrame, graph: pd.DataFrame | None) -> Plot | None:
    """The layout of the shown communities and their links; None without gold.community_graph rows for them."""
    import networkx as nx

    if graph is None or graph.empty or shown.empty:
        return None
    texts = dict(zip((int(c) for c in shown["community"]), abouts(graph, shown["community"]), strict=True))
    links = link_table(shown, graph)
    g = nx.Graph()
    sizes = dict(zip((int(c) for c in shown["community"]), (int(s) for s in shown["size"]), strict=True))
    g.add_nodes_from(sizes)
    g.add_weighted_edges_from(links.itertuples(index=False, name=None))
    pos = nx.spring_layout(g, weight="weight", seed=0)
    fig = new_figure(8, 5)
    ax = fig.add_subplot()
    top = float(links["edges"].max()) if len(links) else 1.0
    for a, b, n in links.itertuples(index=False, name=None):
        (xa, ya), (xb, yb) = pos[a], pos[b]
        ax.plot([xa, xb], [ya, yb], color="#8a94a6", linewidth=0.5 + 4.0 * n / top, alpha=0.6, zorder=1)
    xy = np.array([pos[c] for c in sizes])
    area = np.array(list(sizes.values()), dtype=float)
    ax.scatter(xy[:, 0], xy[:, 1], s=60 + 1400 * area / area.max(), color="#2f6db5", alpha=0.8, zorder=2)
    for c, (x, y) in zip(sizes, xy, strict=True):
        text = texts[c]
        label = f"{c}: {text}" if text else str(c)
        ax.annotate(label, (x, y), xytext=(0, 9), textcoords="offset points", fontsize=7, ha="center", zorder=3)
    ax.set_axis_off()
    ax.margins(0.15)
    nodes = pd.DataFrame(
        {
            "community": list(sizes),
            "members": list(sizes.values()),
            "about": [texts[c] for c in sizes],
            "x": xy[:, 0].round(4),
            "y": xy[:, 1].round(4),
        }
    )
    data = nodes.merge(links, how="left", left_on="community", right_on="community_a").drop(columns="community_a")
    caption = "Communities as a graph: size by members, width by the edges between them, labelled by what they share"
    return figure(fig, caption, name="community-map", data=data)
