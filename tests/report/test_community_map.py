"""The picture of the community graph (#19) on planted gold.community_graph rows."""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd

from socialflywheel.report.community_map import abouts, community_map, link_table


def _graph() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "community": [0, 1, 2, 3],
            "top_categories": [np.array(["music", "tech", "art"]), np.array(["sports"]), None, np.array(["food"])],
            "top_hashtags": [np.array(["concert"]), np.array([], dtype=object), None, np.array(["vegan", "bbq"])],
            "linked_communities": [np.array([1, 3]), np.array([0, 2]), np.array([1]), np.array([0])],
            "link_edges": [np.array([40, 2]), np.array([40, 7]), np.array([7]), np.array([2])],
        }
    )


def test_links_join_shown_communities_once_each() -> None:
    shown = pd.DataFrame({"community": [0, 1, 3], "size": [50, 30, 12]})  # community 2 is under k: not shown
    links = link_table(shown, _graph())
    assert sorted(links.itertuples(index=False, name=None)) == [(0, 1, 40), (0, 3, 2)]


def test_labels_say_what_a_community_is_about() -> None:
    want = ["music, tech, #concert", "sports", "", "food, #vegan, #bbq", ""]  # two of each at most; none for 2, 9
    assert abouts(_graph(), pd.Series([0, 1, 2, 3, 9])) == want
    assert abouts(None, pd.Series([0])) == [""]


def test_the_map_draws_only_shown_communities_and_carries_them_as_csv() -> None:
    shown = pd.DataFrame({"community": [0, 1, 3], "size": [50, 30, 12]})
    plot = community_map(shown, _graph())
    assert plot is not None and plot.name == "community-map" and len(plot.png_base64) > 1000
    data = pd.read_csv(io.BytesIO(base64.b64decode(plot.csv_base64)))
    assert set(data["community"]) == {0, 1, 3} and 2 not in set(data["community_b"].dropna())
    assert data.loc[data["community"] == 0, "about"].iloc[0] == "music, tech, #concert"
    again = community_map(shown, _graph())
    assert again is not None and again.csv_base64 == plot.csv_base64  # seeded layout: the same picture
    assert community_map(shown, None) is None
