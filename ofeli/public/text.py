"""Words of the public search: accents and case removed, a light French stemmer.

PostgreSQL uses its own french Snowball stemmer (configuration ``ofeli_fr``); SQLite (demo,
development) uses ``stems()`` below on both the indexed text and the query, and matches a
query stem as the beginning of an indexed stem. It is deliberately small: plural, then
one derivational or inflectional suffix, never leaving fewer than three letters, so that
« boucher », « bouchers », « bouchère » and « Boucherie » all give « bouch » and
« electricite » and « Électricité » give « electric »."""

import re

from ofeli.core.text import normalize_search

STOPWORDS = frozenset(
    [
        "a",
        "au",
        "aux",
        "avec",
        "ce",
        "ces",
        "d",
        "dans",
        "de",
        "des",
        "du",
        "en",
        "et",
        "l",
        "la",
        "le",
        "les",
        "leur",
        "ou",
        "par",
        "pour",
        "qu",
        "que",
        "sans",
        "se",
        "sur",
        "un",
        "une",
    ]
)
# Longest first; applied once, after the plural.
SUFFIXES = sorted(
    [
        "issement", "ement", "ation", "ateur", "atrice", "euse", "eur", "iere", "ere", "ier", "erie", "ite",
        "ienne", "ien", "ive", "if", "ique", "iste", "isme", "able", "ible", "ance", "ence", "ee", "er", "e",
    ],
    key=len,
    reverse=True,
)  # fmt: skip
MIN_STEM = 3
LIGATURES = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae"})  # NFKD keeps them whole
_SPLIT = re.compile(r"[^a-z0-9]+")


def fold(text):
    """Lower case, accents and ligatures removed."""
    return normalize_search((text or "").translate(LIGATURES))


def words(text):
    """Folded words, without stop words."""
    return [w for w in _SPLIT.split(fold(text)) if w and w not in STOPWORDS]


def stem(word):
    if word.isdigit() or len(word) <= MIN_STEM:
        return word
    if word.endswith(("s", "x")) and len(word) > MIN_STEM + 1:
        word = word[:-1]
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
            return word[: -len(suffix)]
    return word


def stems(text):
    return [stem(w) for w in words(text)]


def index_text(*parts):
    """The ``search_text`` of the index: distinct stems, separated by spaces."""
    seen = dict.fromkeys(s for part in parts for s in stems(part))
    return " ".join(seen)


def query_terms(text, limit=10):
    """Distinct query stems (at most ``limit``)."""
    return list(dict.fromkeys(stems(text)))[:limit]


def query_words(text, limit=10):
    """Distinct folded query words (PostgreSQL stems them itself)."""
    return list(dict.fromkeys(words(text)))[:limit]
