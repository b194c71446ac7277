"""Values a source mapping turns into event fields: timestamps in declared formats, HTML and hashtags in text."""

from __future__ import annotations

import datetime as dt
import email.utils
import html
import re
from html.parser import HTMLParser

from socialflywheel.ingest.parse import Rejected, parse_ts

# ---- timestamps --------------------------------------------------------------------------------------------------


def read_ts(value: object, fmt: str) -> dt.datetime:
    """A source timestamp in the declared format -> an aware UTC datetime.

    Raises:
        ValueError: the value is not in that format (the caller names the field and rule).
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a timestamp")
    if fmt in ("epoch_s", "epoch_ms", "epoch_us"):
        number = float(value) if isinstance(value, str) else value
        if not isinstance(number, int | float) or number != number or number in (float("inf"), float("-inf")):
            raise ValueError(f"{value!r} is not a number of {fmt[6:]}")
        scale = {"epoch_s": 1, "epoch_ms": 1_000, "epoch_us": 1_000_000}[fmt]
        seconds, frac = divmod(number, scale)
        try:
            return dt.datetime.fromtimestamp(0, dt.UTC) + dt.timedelta(seconds=seconds, microseconds=frac * 1e6 / scale)
        except OverflowError:
            raise ValueError(f"{value!r} is out of range") from None
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not text")
    if fmt == "iso8601":  # the contract's own reading of an ISO-8601 ts (Z or an offset; naive is UTC)
        try:
            return parse_ts(value)
        except Rejected as rej:
            raise ValueError(rej.detail.removeprefix("ts: ")) from None
    if fmt == "rfc2822":
        when = email.utils.parsedate_to_datetime(value)
    elif fmt == "twitter":  # Wed Oct 10 20:19:24 +0000 2018
        when = dt.datetime.strptime(value.strip(), "%a %b %d %H:%M:%S %z %Y")
    else:
        when = dt.datetime.strptime(value.strip(), fmt)
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


# ---- text transforms ---------------------------------------------------------------------------------------------


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "p") and self.parts:
            self.parts.append("\n" if tag == "br" else "\n\n")


def strip_html(text: str) -> str:
    """The text of an HTML fragment (Mastodon's ``content``): tags dropped, entities decoded, paragraphs kept."""
    parser = _Text()
    parser.feed(text)
    parser.close()
    return html.unescape("".join(parser.parts)).strip()


_HASHTAG = re.compile(r"(?<![\w#])#(\w{1,100})")


def hashtags_in(text: str) -> list[str]:
    """The ``#tags`` a text holds, in order, each once (for sources with no hashtag field)."""
    return list(dict.fromkeys(_HASHTAG.findall(text)))


TRANSFORMS = {"strip_html": strip_html, "hashtags_from_text": hashtags_in, "lower": str.lower}
