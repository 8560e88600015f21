"""Facet values of an indexed session packed in one integer (``PublishedSession.facets``),
so that counting every facet is a single ``GROUP BY facets`` (search.py), and the counts of
the page without criteria are pre-aggregated per key (``SearchSnapshot``, S3):

bits 0-6 département (0 = none, else its position + 1 among the 101 départements of
France, whatever the instance's region: a national instance fits, S2/S3), 7-8 modality,
9-12 exit level, 13-14 certification type, 15-21 financing kinds (one bit each,
financing.KINDS order)."""

from functools import cache

from ofeli.core.regions import REGION_OF_DEPARTEMENT

from . import financing

DEPARTEMENTS = sorted(REGION_OF_DEPARTEMENT)  # « 01 » … « 95 », « 2A », « 2B », « 971 » …
MODALITES = ["0", "1", "2"]
LEVELS = ["1", "11", "12", "13", "14", "15", "16", "17", "18"]
CERTIFICATIONS = ["", "rncp", "rs"]
KINDS = [kind for kind, _ in financing.KINDS]
_DEPARTEMENT_INDEX = {code: position + 1 for position, code in enumerate(DEPARTEMENTS)}


def _index(values, value, offset=0):
    return values.index(value) + offset if value in values else 0


def encode(departement, modalite, niveau, certification_type, kinds):
    key = _DEPARTEMENT_INDEX.get(departement, 0)
    key |= _index(MODALITES, modalite) << 7
    key |= _index(LEVELS, niveau, 1) << 9
    key |= _index(CERTIFICATIONS, certification_type) << 13
    for bit, kind in enumerate(KINDS):
        if kind in kinds:
            key |= 1 << (15 + bit)
    return key


@cache
def decode(key):
    """The facet columns of a key (a shared dict: do not modify it)."""
    dept = key & 127
    level = (key >> 9) & 15
    row = {
        "departement": DEPARTEMENTS[dept - 1] if 0 < dept <= len(DEPARTEMENTS) else "",
        "modalite": MODALITES[(key >> 7) & 3] if ((key >> 7) & 3) < 3 else "",
        "niveau": LEVELS[level - 1] if 0 < level <= len(LEVELS) else "",
        "certification_type": CERTIFICATIONS[(key >> 13) & 3] if ((key >> 13) & 3) < 3 else "",
    }
    for bit, kind in enumerate(KINDS):
        row[financing.field(kind)] = bool(key & (1 << (15 + bit)))
    return row
