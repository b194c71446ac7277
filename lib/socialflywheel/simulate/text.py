"""Post and comment texts with planted sentiment, built from hand-written templates.

The phrasing was written as people write on social apps (negations, intensifiers, emoji, slang,
sentences that turn on a "but"), not from any sentiment classifier's word list. The label of a
mixed sentence is the clause a reader takes as the verdict: the one after "but"/"though".
"""

from __future__ import annotations

import json

import numpy as np

SENTIMENTS = ("positive", "negative", "neutral")

CATEGORIES = (
    "music",
    "sports",
    "food",
    "travel",
    "tech",
    "gaming",
    "fashion",
    "fitness",
    "movies",
    "politics",
    "science",
    "pets",
    "books",
    "art",
    "finance",
    "comedy",
    "cars",
    "photography",
    "parenting",
    "diy",
    "news",
    "health",
    "education",
    "nature",
)

_THINGS = (
    "album",
    "match",
    "recipe",
    "trailer",
    "update",
    "episode",
    "workout",
    "show",
    "game",
    "book",
    "camera",
    "playlist",
    "stream",
    "drop",
    "collab",
    "podcast",
    "tour",
    "menu",
    "release",
    "season finale",
)
_INTENS = ("", "really ", "so ", "super ", "extremely ", "incredibly ", "absolutely ")
_POS_EMOJI = ("", "", " 😍", " 🙌", " ❤️", " 😊", " 🎉")
_NEG_EMOJI = ("", "", " 😡", " 😞", " 👎", " 😢")
_NEU_EMOJI = ("", "", "", " 📅", " 📍")

_POSITIVE = (
    ("plain", "the {t} is {i}great"),
    ("plain", "{i}happy with how the {t} turned out"),
    ("plain", "loved every minute of the {t}"),
    ("plain", "the {t} was {i}good, well done everyone"),
    ("plain", "what a beautiful {t}, thank you"),
    ("plain", "best {t} I have seen this year"),
    ("plain", "the {t} is {i}awesome, highly recommend"),
    ("plain", "this {t} made my day"),
    ("negation", "not bad at all, the {t} was {i}nice"),
    ("negation", "honestly the {t} never disappoints, love it"),
    ("negation", "can't complain, the {t} was {i}enjoyable"),
    ("slang", "lol the {t} is {i}good, I'm obsessed"),
    ("slang", "ngl the {t} slaps, love this"),
    ("slang", "yay the {t} is here and it's {i}fun"),
    ("mixed", "the start was slow but the {t} ended up {i}wonderful"),
    ("mixed", "a bit long, though the {t} was {i}brilliant overall"),
    ("emoji", "{t} 😍😍 {i}excited"),
)
_NEGATIVE = (
    ("plain", "the {t} is {i}terrible"),
    ("plain", "{i}disappointed by the {t}"),
    ("plain", "the {t} was a waste of time"),
    ("plain", "worst {t} ever, {i}boring"),
    ("plain", "the {t} is {i}bad and overpriced"),
    ("plain", "hated the {t}, what a mess"),
    ("plain", "the {t} keeps crashing, {i}annoying"),
    ("plain", "{i}sad about how the {t} turned out"),
    ("negation", "not good at all, the {t} was {i}awful"),
    ("negation", "the {t} is not worth it, {i}frustrating"),
    ("negation", "didn't like the {t}, it was {i}dull"),
    ("slang", "ugh the {t} sucks, so mid"),
    ("slang", "smh the {t} is {i}trash"),
    ("slang", "lowkey hate the {t} now, {i}lame"),
    ("mixed", "the cover looked nice but the {t} was {i}horrible"),
    ("mixed", "good idea, but the {t} is {i}broken and ugly"),
    ("emoji", "{t} 😡😡 {i}angry"),
)
_NEUTRAL = (
    ("plain", "the {t} starts at 6pm on channel 4"),
    ("plain", "new {t} out on Friday"),
    ("plain", "the {t} is 45 minutes long"),
    ("plain", "watching the {t} from the train"),
    ("plain", "the {t} moved to the second floor"),
    ("plain", "details about the {t} are in the link"),
    ("plain", "posted the {t} notes for Tuesday"),
    ("plain", "the {t} has twelve parts"),
    ("plain", "picked up the {t} on the way home"),
    ("plain", "anyone know what time the {t} begins"),
    ("plain", "the {t} was recorded in Lisbon"),
    ("plain", "the {t} is available in three languages"),
    ("plain", "the {t} schedule changed to Monday"),
    ("plain", "checking the {t} before the meeting"),
)
_TEMPLATES = {"positive": _POSITIVE, "negative": _NEGATIVE, "neutral": _NEUTRAL}
_EMOJI = {"positive": _POS_EMOJI, "negative": _NEG_EMOJI, "neutral": _NEU_EMOJI}

SEARCH_WORDS = (
    "highlights",
    "recipe",
    "tickets",
    "review",
    "tutorial",
    "near me",
    "tonight",
    "best",
    "schedule",
    "live",
)


def sentence_bank(per_class: int = 400, seed: int = 20261001) -> tuple[list[str], np.ndarray]:
    """Distinct sentences and their planted sentiment code (index into SENTIMENTS).

    Args:
        per_class: sentences drawn per sentiment class.
        seed: seed of the draw (fixed: the bank is part of the simulator, not of a run).

    Returns:
        The sentences and an int8 array of sentiment codes, aligned.
    """
    rng = np.random.default_rng(seed)
    texts: list[str] = []
    codes: list[int] = []
    for code, label in enumerate(SENTIMENTS):
        templates = _TEMPLATES[label]
        emoji = _EMOJI[label]
        seen: set[str] = set()
        for _ in range(per_class * 20):
            if len(seen) >= per_class:
                break
            _, tpl = templates[int(rng.integers(len(templates)))]
            text = tpl.format(t=_THINGS[int(rng.integers(len(_THINGS)))], i=_INTENS[int(rng.integers(len(_INTENS)))])
            text = text + emoji[int(rng.integers(len(emoji)))]
            if rng.random() < 0.3:
                text = text[0].upper() + text[1:]
            if text not in seen:
                seen.add(text)
                texts.append(text)
                codes.append(code)
    return texts, np.asarray(codes, dtype=np.int8)


def json_quoted(texts: list[str]) -> np.ndarray:
    """Each text as a JSON string literal (quotes and escapes included, UTF-8 kept)."""
    return np.asarray([json.dumps(t, ensure_ascii=False) for t in texts], dtype=object)
