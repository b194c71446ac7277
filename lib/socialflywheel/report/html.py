"""The report's rendering: Jinja2 templates (autoescaped, strict), the values they show, matplotlib PNG data URIs.

Python computes what a section shows (``Table``, ``Stat``, ``Plot``, state); the templates in
``report/templates`` hold all the markup and escape every value. Nothing refers to the network: no
fonts, stylesheets, scripts or images are linked; every plot is a base64 PNG inside the page, so the
file opens offline and loads nothing but itself.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import io
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from jinja2 import Environment, FileSystemLoader, StrictUndefined

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

SectionState = Literal["ok", "missing", "empty"]


@functools.cache
def environment() -> Environment:
    """The report's Jinja2 environment: packaged templates, every value escaped, an undefined name an error.

    Returns:
        The (shared) environment.
    """
    return Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),  # package data beside this module
        autoescape=True,  # every template here is HTML; a value is text unless it is Markup
        undefined=StrictUndefined,  # a misspelt or missing variable fails the report instead of rendering ""
        trim_blocks=True,
        lstrip_blocks=True,
    )


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


def _value_attr(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return repr(float(value))
    return str(value)


@dataclass(frozen=True)
class Cell:
    """A table cell as shown: its text, whether it is text (left-aligned) or code, and its metric tag."""

    text: str
    left: bool = False
    code: bool = False
    metric: str | None = None
    value: str = ""
    """The exact value (``data-value``), for tests and scrapers; only written when ``metric`` is set."""


@dataclass(frozen=True)
class Column:
    """A table header and whether its column is text (left-aligned)."""

    header: str
    left: bool = False


@dataclass(frozen=True)
class Table:
    """A table ready to render: headers and rows of cells."""

    table_id: str | None
    columns: list[Column]
    rows: list[list[Cell]]


@dataclass(frozen=True)
class Stat:
    """A headline figure: its label, displayed text, metric name and exact value."""

    label: str
    text: str
    metric: str
    value: str


@dataclass(frozen=True)
class Plot:
    """A figure: a base64 PNG, its caption (also the alt text), a stable name (``data-figure``), its data as CSV."""

    name: str
    caption: str
    png_base64: str
    csv_base64: str
    """The rows the figure draws (k-suppressed as the figure is), UTF-8 CSV: the download beside the chart."""


def cell(value: Any, kind: str = "num", *, metric: str | None = None) -> Cell:
    """One table cell; with ``metric`` it carries ``data-metric`` and the exact ``data-value``.

    Args:
        value: The cell's value.
        kind: Display kind (see ``fmt_number``; ``code`` shows as text in ``<code>``).
        metric: A stable name such as ``campaign:c001:ctr`` for tests and scrapers.

    Returns:
        The cell.
    """
    text = fmt_number(value, "text" if kind == "code" else kind)
    return Cell(text, left=kind in ("text", "code"), code=kind == "code", metric=metric, value=_value_attr(value))


def table(
    df: pd.DataFrame,
    columns: Sequence[tuple[str, str, str]],
    *,
    metric: Callable[[dict[str, Any], str], str | None] | None = None,
    table_id: str | None = None,
) -> Table:
    """A table of ``df``.

    Args:
        df: The rows.
        columns: ``(column, header, kind)`` for each column shown.
        metric: Optional ``(row, column) -> metric name`` giving cells a ``data-metric``.
        table_id: Optional id attribute.

    Returns:
        The table.
    """
    rows = []
    for record in df.to_dict("records"):
        row = {str(key): v for key, v in record.items()}
        rows.append([cell(row.get(c), kind, metric=metric(row, c) if metric else None) for c, _, kind in columns])
    return Table(table_id, [Column(h, left=kind in ("text", "code")) for _, h, kind in columns], rows)


def headline(items: Iterable[tuple[str, Any, str, str]]) -> list[Stat]:
    """A row of headline figures: ``(label, value, kind, metric)`` each, value tagged with ``data-metric``.

    Args:
        items: The figures.

    Returns:
        The figures as shown.
    """
    return [Stat(label, fmt_number(value, kind), metric, _value_attr(value)) for label, value, kind, metric in items]


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


def figure(fig: Figure, caption: str, *, name: str, data: pd.DataFrame) -> Plot:
    """A figure as a base64 PNG, to embed as a data URI with a caption and a CSV download of its data.

    Args:
        fig: The matplotlib figure.
        caption: Text under the plot (also the image's alt text).
        name: A stable name (``data-figure`` attribute; the CSV's file name).
        data: The rows the figure draws, nothing the figure hides (no group under k).

    Returns:
        The plot.
    """
    from matplotlib.text import Text

    for text in fig.findobj(Text):  # data ($5 off, $tag$) is shown as typed, never parsed as TeX math
        text.set_parse_math(False)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, metadata={"Software": None})
    csv = _inert(data).to_csv(index=False, lineterminator="\n").encode("utf-8")
    return Plot(name, caption, base64.b64encode(buf.getvalue()).decode("ascii"), base64.b64encode(csv).decode("ascii"))


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _inert(data: pd.DataFrame) -> pd.DataFrame:
    """Text cells a spreadsheet would run as a formula (``=HYPERLINK(...)``) start with ``'`` (OWASP's advice)."""
    out = data.copy()
    for col in out.columns:
        if out[col].dtype.kind not in "biufcmM":  # text (object or str dtype), not numbers or times
            out[col] = out[col].map(lambda v: "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v)
    return out


class SectionHtml(str):
    """A section's HTML that also carries its data state (so nobody has to parse it back out of the HTML)."""

    state: SectionState

    def __new__(cls, html: str, state: SectionState) -> SectionHtml:
        """The HTML as a string that carries ``state``."""
        obj = super().__new__(cls, html)
        obj.state = state
        return obj


def render_section(
    template: str, *, section_id: str, title: str, state: SectionState = "ok", **context: object
) -> SectionHtml:
    """Render a section template (one extending ``section.html.j2``) with its state.

    Args:
        template: The template's name, e.g. ``sections/campaigns.html.j2``.
        section_id: The element id.
        title: The heading.
        state: ``ok``, ``missing`` (no data yet) or ``empty``: the ``data-state`` attribute, the branch
            the template renders and the result's ``state``.
        **context: The values the template shows.

    Returns:
        The ``<section>`` HTML.
    """
    html = environment().get_template(template).render(section_id=section_id, title=title, state=state, **context)
    return SectionHtml(html, state)


def page(title: str, subtitle: str, sections: Sequence[tuple[str, str, SectionHtml]]) -> str:
    """The whole document: header, a table of contents and the sections.

    Args:
        title: Page title.
        subtitle: Line under the title (generation time, lake).
        sections: ``(id, title, html)`` of each section, in order; the HTML as ``render_section`` made it.

    Returns:
        The HTML document.
    """
    return environment().get_template("report.html.j2").render(title=title, subtitle=subtitle, sections=sections)
