"""The item catalogue of a prepared dataset: every post of silver.posts with dense category, author and hashtag ids."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from socialflywheel.recsys._arrow import encode, list_array, matrix_column, seconds, vocabulary

if TYPE_CHECKING:
    from socialflywheel.lake.io import Lake


def catalogue(lake: Lake, post_vocab_extra: pa.Array) -> dict[str, Any]:
    """Items from every post of silver.posts (plus any post only the examples name), with dense vocabularies."""
    posts = lake.read_arrow("silver.posts", columns=["post_id", "author_id", "created_at", "category", "hashtags"])
    if posts.num_rows and pa.types.is_null(posts.schema.field("post_id").type):
        posts = posts.slice(0, 0)
    post_ids = (
        vocabulary([posts.column("post_id").combine_chunks(), post_vocab_extra])
        if posts.num_rows
        else (vocabulary([post_vocab_extra]))
    )
    n = len(post_ids)
    pos = encode(posts.column("post_id"), post_ids) if posts.num_rows else np.zeros(0, np.int64)
    categories = vocabulary([posts.column("category").combine_chunks()]) if posts.num_rows else pa.array([""])
    if len(categories) == 0:
        categories = pa.array([""])
    authors = vocabulary([posts.column("author_id").combine_chunks()]) if posts.num_rows else pa.array([""])
    if len(authors) == 0:
        authors = pa.array([""])
    tags_flat = posts.column("hashtags").combine_chunks().flatten() if posts.num_rows else pa.array([], pa.string())
    hashtags = vocabulary([tags_flat])
    category = np.zeros(n, np.int32)
    author = np.zeros(n, np.int64)
    created = np.zeros(n, np.int64)
    category_name = np.full(n, "", dtype=object)
    tag_lists: list[np.ndarray] = [np.zeros(0, np.int32)] * n
    author_ids = np.full(n, "", dtype=object)
    if posts.num_rows:
        category[pos] = np.maximum(encode(posts.column("category"), categories), 0)
        author[pos] = np.maximum(encode(posts.column("author_id"), authors), 0)
        created[pos] = seconds(posts.column("created_at").fill_null(0))
        category_name[pos] = np.asarray(posts.column("category").fill_null("").to_pylist(), dtype=object)
        author_ids[pos] = np.asarray(posts.column("author_id").fill_null("").to_pylist(), dtype=object)
        tags = posts.column("hashtags").combine_chunks()
        lengths = np.asarray(pc.fill_null(pc.list_value_length(tags), 0).to_numpy(zero_copy_only=False), np.int64)
        codes = encode(tags.flatten(), hashtags).astype(np.int32)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        for row, item in enumerate(pos):
            tag_lists[item] = codes[offsets[row] : offsets[row + 1]]
    return {
        "post_ids": post_ids,
        "category": category,
        "author": author,
        "created": created,
        "category_name": category_name,
        "author_id": author_ids,
        "tags": tag_lists,
        "categories": categories,
        "authors": authors,
        "hashtags": hashtags,
    }


def items_table(cat: dict[str, Any], features: np.ndarray) -> pa.Table:
    """The items.parquet table: the contract's item columns plus post_id, category, author_id, item_created_ts."""
    n = len(cat["post_ids"])
    tags = cat["tags"]
    return pa.table(
        {
            "item_idx": pa.array(np.arange(n, dtype=np.int64)),
            "item_category": pa.array(cat["category"]),
            "item_author_idx": pa.array(cat["author"]),
            "item_hashtags": list_array(
                np.concatenate(tags) if n else np.zeros(0, np.int32), np.array([len(t) for t in tags]), pa.int32()
            ),
            "item_features": matrix_column(features),
            "post_id": cat["post_ids"],
            "category": pa.array(cat["category_name"].tolist(), pa.string()),
            "author_id": pa.array(cat["author_id"].tolist(), pa.string()),
            "item_created_ts": pa.array(cat["created"]),
        }
    )
