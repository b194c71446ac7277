"""The report's Jinja2 templates: data is escaped wherever it lands, a missing value fails, sections go in as HTML."""

from __future__ import annotations

import base64
import datetime as dt
from html.parser import HTMLParser

import jinja2
import pandas as pd
import pytest

from socialflywheel.report import sections
from socialflywheel.report.html import page, render_section

K = 10
HOSTILE = '<script>alert(1)</script>" onmouseover="alert(2)'
"""A campaign id that tries to open a script element and to break out of a quoted attribute."""


class _Elements(HTMLParser):
    """Every start tag with its (unescaped) attributes, and the text of every element, as a browser parses them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> _Elements:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser


def _campaigns(campaign_id: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "campaign_id": [campaign_id, "c2"],
            "day": [dt.date(2026, 10, 1)] * 2,
            "impressions": [100, 50],
            "clicks": [3, 2],
            "reach": [80, 40],
            "frequency": [1.25, 1.5],
        }
    )


def test_hostile_text_is_escaped_in_text_and_attributes() -> None:
    """A campaign id with ``<script>`` and ``"`` stays data: no script element, no injected attribute, and the
    exact id comes back from the cell text and the ``data-metric`` attribute.

    Mutation tried: ``autoescape=False`` in ``html.environment`` -- this test then fails (a ``script`` element
    and an ``onmouseover`` attribute appear).
    """
    html = sections.campaigns(_campaigns(HOSTILE), K)
    assert html.state == "ok"
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    parsed = _parse(html)
    assert "script" not in {tag for tag, _ in parsed.tags}
    assert not any("onmouseover" in attrs for _, attrs in parsed.tags)
    metrics = {attrs["data-metric"] for _, attrs in parsed.tags if "data-metric" in attrs}
    assert f"campaign:{HOSTILE}:ctr" in metrics and "campaign:c2:ctr" in metrics
    assert HOSTILE in parsed.text
    # The plot is still an image: the base64 data URI passes escaping unchanged and decodes to a PNG.
    (src,) = [attrs["src"] for tag, attrs in parsed.tags if tag == "img"]
    assert src is not None and src.startswith("data:image/png;base64,")
    assert base64.b64decode(src.removeprefix("data:image/png;base64,"), validate=True).startswith(b"\x89PNG")


def test_page_escapes_its_text_and_inserts_sections_as_html() -> None:
    """The page's own title, subtitle and nav are escaped; each section goes in once, as markup, not as text.

    Mutation tried: dropping ``|safe`` from the section in ``report.html.j2`` -- this test then fails (the
    sections show as ``&lt;section ...`` text). With ``autoescape=False`` it fails too (a ``script`` element).
    """
    parts = [sections.campaigns(_campaigns(HOSTILE), K), sections.fairness(None, None, K)]
    doc = page(HOSTILE, f"subtitle {HOSTILE}", [("campaigns", f"nav {HOSTILE}", parts[0]), ("fairness", "f", parts[1])])
    parsed = _parse(doc)
    tags = [tag for tag, _ in parsed.tags]
    assert "script" not in tags and tags.count("section") == 2
    assert [attrs["data-state"] for tag, attrs in parsed.tags if tag == "section"] == ["ok", "missing"]
    hrefs = [attrs["href"] for tag, attrs in parsed.tags if tag == "a"]
    assert [h for h in hrefs if h.startswith("#")] == ["#campaigns", "#fairness"]
    assert [h.split(",")[0] for h in hrefs if not h.startswith("#")] == ["data:text/csv;charset=utf-8;base64"]
    assert parsed.text.count(HOSTILE) == 3  # title, h1 and the campaign's cell
    assert f"subtitle {HOSTILE}" in parsed.text and f"nav {HOSTILE}" in parsed.text
    assert "&lt;section" not in doc and "<link" not in doc and "http" not in doc


def test_a_chart_csv_holds_its_text_as_typed_but_never_a_spreadsheet_formula() -> None:
    """Text that starts like a formula (``=``, ``+``, ``-``, ``@``) gets ``'`` in a chart's CSV, else as typed."""
    import io
    import re

    ids = ['=HYPERLINK("http://x")', "+1", "@SUM(A1)", "-2", HOSTILE, "plain"]
    html = sections.campaigns(pd.concat([_campaigns(i).head(1) for i in ids], ignore_index=True), K)
    encoded = re.search(r'href="data:text/csv;charset=utf-8;base64,([^"]*)"', html)
    assert encoded is not None
    got = pd.read_csv(io.BytesIO(base64.b64decode(encoded.group(1))), dtype={"campaign_id": str})
    want = {i if i[0] not in "=+-@" else "'" + i for i in ids}
    assert set(got["campaign_id"]) == want


def test_a_missing_template_value_fails_loudly() -> None:
    """A section rendered without a value its template shows raises instead of silently leaving it out.

    Mutation tried: removing ``undefined=StrictUndefined`` from ``html.environment`` -- this test then fails
    (the empty campaigns section renders without its hidden count, and the missing fairness section says
    "no recommendations" without being told).
    """
    with pytest.raises(jinja2.UndefinedError, match="hidden"):
        render_section("sections/campaigns.html.j2", section_id="campaigns", title="t", state="empty", k=K)
    with pytest.raises(jinja2.UndefinedError, match="recommendations_exist"):
        render_section("sections/fairness.html.j2", section_id="fairness", title="t", state="missing")
    ok = render_section("sections/campaigns.html.j2", section_id="campaigns", title="t", state="empty", k=K, hidden=2)
    assert ok.state == "empty" and "2 campaign-days hidden" in ok


@pytest.mark.parametrize("text", ["$\\frac{1}{$ sale", "50$ off $x^$", "$$", "\\$\\undefinedmacro$"])
def test_data_that_looks_like_tex_math_is_drawn_as_typed(text: str) -> None:
    """#16 item 9: a campaign id or hashtag holding ``$...$`` reached matplotlib as mathtext and failed the report.

    Mutation tried: without ``set_parse_math(False)`` the first and the third raise ``ValueError`` from mathtext.
    """
    html = sections.campaigns(_campaigns(text), K)
    assert html.state == "ok" and "data:image/png;base64," in html
