"""Spelling suggestions of the public search (P2): « comptabilte » finds nothing, the page
offers « Vouliez-vous dire comptabilité ? », and one typo in a long word is tolerated (the
search is run again with the corrected word, and the page says so).

The lexicon (``SearchWord``) holds the words of the published titles, certifications and
organismes, folded (``fold``: lower case, no accent) with one written form to show. Nearest
word: PostgreSQL ``pg_trgm`` (trigram similarity, GIN index, operator ``%``) then the edit
distance; SQLite: the words of similar length sharing the first letter, by edit distance.
Only asked when a search finds nothing: a page with results costs no query here.
"""

from collections import Counter

from django.db import connection

from .text import _SPLIT, STOPWORDS, fold

MIN_LENGTH = 4  # shorter words are not suggested
LONG_WORD = 7  # from this length one typo is tolerated
MAX_DISTANCE = 2
CHUNK = 2000


def lexicon_words(*texts):
    """(folded word, written form) of texts, stop words and short words left out."""
    for text in texts:
        for raw in (text or "").replace("’", "'").split():
            for part in _SPLIT.split(fold(raw)):
                if len(part) >= MIN_LENGTH and part not in STOPWORDS and not part.isdigit():
                    written = raw.strip(".,;:!?()«»\"'").lower()
                    yield part, written if fold(written) == part else part


def _rows(formations, model):
    forms = {}
    for title, keywords in formations.values_list("intitule", "keywords").iterator(chunk_size=CHUNK):
        for word, written in lexicon_words(title, keywords):
            forms.setdefault(word, Counter())[written] += 1
    return [
        model(word=word[:60], display=counter.most_common(1)[0][0][:60], length=len(word))
        for word, counter in forms.items()
    ]


def rebuild_words(model=None, formations=None):
    """Replace the lexicon by the words of the published formations."""
    from .models import PublishedFormation, SearchWord

    model = model or SearchWord
    formations = PublishedFormation.objects.all() if formations is None else formations
    rows = _rows(formations, model)
    model.objects.all().delete()
    model.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def add_words(formation_ids):
    """Add the words of some formations (after a partial rebuild); words no longer used stay
    until the nightly full rebuild."""
    from .models import PublishedFormation, SearchWord

    rows = _rows(PublishedFormation.objects.filter(pk__in=formation_ids), SearchWord)
    SearchWord.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)


def distance(a, b):
    """Damerau-Levenshtein distance (optimal string alignment): a swap of two letters is one typo."""
    previous2, previous = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if previous2 is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                value = min(value, previous2[j - 2] + 1)
            current.append(value)
        previous2, previous = previous, current
    return previous[-1]


def _candidates(words):
    from .models import SearchWord

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            found = {}
            # One query for every word typed: the nearest lexicon words by trigram similarity.
            cursor.execute(
                """SELECT q.term, w.word, w.display FROM unnest(%s::text[]) AS q(term)
                   CROSS JOIN LATERAL (
                       SELECT word, display FROM public_searchword
                       WHERE word %% q.term ORDER BY similarity(word, q.term) DESC, word LIMIT 10
                   ) AS w""",
                [list(words)],
            )
            for term, word, display in cursor.fetchall():
                found.setdefault(term, []).append((word, display))
            return found
    from django.db.models import Q

    condition = Q()
    for word in words:
        condition |= Q(word__startswith=word[0], length__range=(len(word) - MAX_DISTANCE, len(word) + MAX_DISTANCE))
    found = {}
    rows = list(SearchWord.objects.filter(condition).values_list("word", "display"))
    for word in words:
        found[word] = [(w, d) for w, d in rows if w[0] == word[0] and abs(len(w) - len(word)) <= MAX_DISTANCE]
    return found


def suggest(text):
    """(suggested text, tolerated) for a query that found nothing, or (None, False).
    ``tolerated``: every change is one typo in a long word (the search may use it at once)."""
    typed = [w for w in _SPLIT.split(fold(text)) if w]
    wanted = [w for w in typed if len(w) >= MIN_LENGTH and w not in STOPWORDS and not w.isdigit()]
    if not wanted:
        return None, False
    from .models import SearchWord

    known = set(SearchWord.objects.filter(word__in=wanted).values_list("word", flat=True))
    unknown = [w for w in dict.fromkeys(wanted) if w not in known]
    if not unknown:
        return None, False
    candidates = _candidates(unknown)
    replacements, tolerated = {}, True
    for word in unknown:
        scored = sorted((distance(word, w), w, d) for w, d in candidates.get(word, []))
        scored = [s for s in scored if s[0] <= MAX_DISTANCE]
        if not scored:
            return None, False
        best_distance, _, display = scored[0]
        replacements[word] = display
        tolerated &= best_distance == 1 and len(word) >= LONG_WORD
    suggestion = " ".join(replacements.get(w, w) for w in typed)
    return suggestion, tolerated
