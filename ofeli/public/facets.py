"""Facet values of an indexed session packed in one integer (``PublishedSession.facets``),
so that counting every facet is a single ``GROUP BY facets`` (search.py):

bits 0-2 département (0 = outside the region or none), 3-4 modality, 5-8 exit level,
9-10 certification type, 11-17 financing kinds (one bit each, financing.KINDS order)."""

from functools import cache

from . import financing

DEPARTEMENTS = ["18", "28", "36", "37", "41", "45"]
MODALITES = ["0", "1", "2"]
LEVELS = ["1", "11", "12", "13", "14", "15", "16", "17", "18"]
CERTIFICATIONS = ["", "rncp", "rs"]
KINDS = [kind for kind, _ in financing.KINDS]


def _index(values, value, offset=0):
    return values.index(value) + offset if value in values else 0


def encode(departement, modalite, niveau, certification_type, kinds):
    key = _index(DEPARTEMENTS, departement, 1)
    key |= _index(MODALITES, modalite) << 3
    key |= _index(LEVELS, niveau, 1) << 5
    key |= _index(CERTIFICATIONS, certification_type) << 9
    for bit, kind in enumerate(KINDS):
        if kind in kinds:
            key |= 1 << (11 + bit)
    return key


@cache
def decode(key):
    """The facet columns of a key (a shared dict: do not modify it)."""
    dept = key & 7
    level = (key >> 5) & 15
    row = {
        "departement": DEPARTEMENTS[dept - 1] if dept else "",
        "modalite": MODALITES[(key >> 3) & 3] if ((key >> 3) & 3) < 3 else "",
        "niveau": LEVELS[level - 1] if level else "",
        "certification_type": CERTIFICATIONS[(key >> 9) & 3] if ((key >> 9) & 3) < 3 else "",
    }
    for bit, kind in enumerate(KINDS):
        row[financing.field(kind)] = bool(key & (1 << (11 + bit)))
    return row
