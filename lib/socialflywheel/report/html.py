"""Self-contained HTML building blocks: inline CSS, escaped tables, matplotlib figures as PNG data URIs.

Nothing here refers to the network: no fonts, stylesheets, scripts or images are linked; every plot
is a base64 PNG inside the page, so the file opens offline and loads nothing but itself.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import math
from collections.abc import Callable, Iterable, Sequence
from html import escape
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

CSS = """
:root { --ink: #1d2430; --muted: #5b6675; --line: #d9dee5; --accent: #2f6db5; --bg: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: var(--ink); background: var(--bg); }
header { background: #16324f; color: #fff; padding: 20px 32px; }
header h1 { margin: 0 0 4px; font-size: 24px; }
header p { margin: 0; color: #c8d6e6; font-size: 13px; }
nav { padding: 8px 32px; background: #fff; border-bottom: 1px solid var(--line); font-size: 13px; }
nav a { color: var(--accent); margin-right: 14px; text-decoration: none; }
main { max-width: 1100px; margin: 0 auto; padding: 16px 24px 48px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 22px;
          margin: 18px 0; }
section h2 { margin: 0 0 8px; font-size: 19px; }
p.note { color: var(--muted); font-size: 13px; margin: 6px 0; }
p.missing { background: #fff6e0; border-left: 4px solid #e0a100; padding: 8px 12px; }
.headline { display: flex; flex-wrap: wrap; gap: 12px; margin: 10px 0; }
.headline div { background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; }
.headline .v { font-size: 20px; font-weight: 600; display: block; }
.headline .l { font-size: 12px; color: var(--muted); }
table { border-collapse: collapse; margin: 10px 0; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: right; }
th { background: var(--bg); font-weight: 600; }
td.text, th.text { text-align: left; }
code { font-size: 12px; }
.scroll { overflow-x: auto; max-width: 100%; }
figure { margin: 12px 0; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figcaption { color: var(--muted); font-size: 12px; }
"""


def fmt_number(value: Any, kind: str = "num") -> str:
    """Format a value for display: ``pct`` (share as %), ``int``, ``num`` (3 significant decimals), ``text``.

    Args:
        value: The value (None/NaN shows as an en dash).
        kind: The display kind.

    Returns:
        The text.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, dt.datetime):  # pandas Timestamps too; gold timestamps are UTC
        return value.strftime("%Y-%m-%d %H:%M")
    if kind == "pct":
        return f"{100.0 * float(value):.2f}%"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "num":
        return f"{float(value):.4g}"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _value_attr(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return repr(float(value))
    return str(value)


def cell(value: Any, kind: str = "num", *, metric: str | None = None, tag: str = "td") -> str:
    """One table cell; with ``metric`` it carries ``data-metric`` and the exact ``data-value``.

    Args:
        value: The cell's value.
        kind: Display kind (see ``fmt_number``).
        metric: A stable name such as ``campaign:c001:ctr`` for tests and scrapers.
        tag: ``td`` or ``th``.

    Returns:
        The HTML of the cell.
    """
    attrs = ' class="text"' if kind in ("text", "code") else ""
    if metric is not None:
        attrs += f' data-metric="{escape(metric)}" data-value="{escape(_value_attr(value))}"'
    body = escape(fmt_number(value, "text" if kind == "code" else kind))
    if kind == "code":
        body = f"<code>{body}</code>"
    return f"<{tag}{attrs}>{body}</{tag}>"


def table(
    df: pd.DataFrame,
    columns: Sequence[tuple[str, str, str]],
    *,
    metric: Callable[[dict[str, Any], str], str | None] | None = None,
    table_id: str | None = None,
) -> str:
    """An HTML table of ``df``.

    Args:
        df: The rows.
        columns: ``(column, header, kind)`` for each column shown.
        metric: Optional ``(row, column) -> metric name`` giving cells a ``data-metric``.
        table_id: Optional id attribute.

    Returns:
        The HTML of the table.
    """
    text_class = ' class="text"'
    head = "".join(f"<th{text_class if kind in ('text', 'code') else ''}>{escape(h)}</th>" for _, h, kind in columns)
    body = []
    for record in df.to_dict("records"):
        row = {str(key): v for key, v in record.items()}
        cells = "".join(cell(row.get(c), kind, metric=metric(row, c) if metric else None) for c, _, kind in columns)
        body.append(f"<tr>{cells}</tr>")
    ident = f' id="{escape(table_id)}"' if table_id else ""
    return (
        f'<div class="scroll"><table{ident}><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'
    )


def headline(items: Iterable[tuple[str, Any, str, str]]) -> str:
    """A row of headline figures: ``(label, value, kind, metric)`` each, value tagged with ``data-metric``.

    Args:
        items: The figures.

    Returns:
        The HTML block.
    """
    parts = []
    for label, value, kind, metric in items:
        parts.append(
            f'<div><span class="v" data-metric="{escape(metric)}" data-value="{escape(_value_attr(value))}">'
            f'{escape(fmt_number(value, kind))}</span><span class="l">{escape(label)}</span></div>'
        )
    return f'<div class="headline">{"".join(parts)}</div>'


def new_figure(width: float = 8.0, height: float = 3.6) -> Figure:
    """A matplotlib Figure with an Agg canvas (no pyplot state, no display needed).

    Args:
        width: Inches.
        height: Inches.

    Returns:
        The figure.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=96, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def figure(fig: Figure, caption: str, *, name: str) -> str:
    """Embed a figure as a base64 PNG data URI with a caption.

    Args:
        fig: The matplotlib figure.
        caption: Text under the plot (also the image's alt text).
        name: A stable name (``data-figure`` attribute).

    Returns:
        The ``<figure>`` HTML.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, metadata={"Software": None})
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (
        f'<figure data-figure="{escape(name)}"><img alt="{escape(caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


SectionState = Literal["ok", "missing", "empty"]


class SectionHtml(str):
    """A section's HTML that also carries its data state (so nobody has to parse it back out of the HTML)."""

    state: SectionState

    def __new__(cls, html: str, state: SectionState) -> SectionHtml:
        obj = super().__new__(cls, html)
        obj.state = state
        return obj


def section(section_id: str, title: str, body: str, *, state: SectionState = "ok") -> SectionHtml:
    """A report section with a heading; ``state`` is ``ok``, ``missing`` (no data yet) or ``empty``.

    Args:
        section_id: The element id.
        title: The heading.
        body: Inner HTML.
        state: Data state, as a ``data-state`` attribute and as the result's ``state``.

    Returns:
        The ``<section>`` HTML.
    """
    html = f'<section id="{escape(section_id)}" data-state="{escape(state)}"><h2>{escape(title)}</h2>{body}</section>'
    return SectionHtml(html, state)


def missing(text: str) -> str:
    """A plain 'not available yet' paragraph.

    Args:
        text: What is missing and which job produces it.

    Returns:
        The HTML paragraph.
    """
    return f'<p class="missing">{escape(text)}</p>'


def note(text: str) -> str:
    """A muted explanatory paragraph.

    Args:
        text: The note.

    Returns:
        The HTML paragraph.
    """
    return f'<p class="note">{escape(text)}</p>'


def page(title: str, subtitle: str, sections: Sequence[tuple[str, str, str]]) -> str:
    """The whole document: header, a table of contents and the sections.

    Args:
        title: Page title.
        subtitle: Line under the title (generation time, lake).
        sections: ``(id, title, html)`` of each section, in order.

    Returns:
        The HTML document.
    """
    nav = "".join(f'<a href="#{escape(i)}">{escape(t)}</a>' for i, t, _ in sections)
    body = "".join(h for _, _, h in sections)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{escape(title)}</h1><p>{escape(subtitle)}</p></header>"
        f"<nav>{nav}</nav><main>{body}</main></body></html>"
    )
