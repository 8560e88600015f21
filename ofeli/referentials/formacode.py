"""The Formacode (Centre Inffo's thesaurus of the training offer) as our referentials use it.

LHEO requires the version of the Formacode every code comes from (``@ref`` of
``code-FORMACODE`` and ``code-public-vise``, e.g. « V13 »). The Formacode codes we hold
(certifications, formations, the « public visé » of dispositifs) are codes of one version,
kept in ``data/formacode.json`` (``settings.FORMACODE_VERSION`` overrides it when the
referential is migrated to a newer version)."""

import json
from functools import cache
from pathlib import Path

from django.conf import settings

DATA = Path(__file__).parent / "data" / "formacode.json"


@cache
def _data():
    return json.loads(DATA.read_text(encoding="utf-8"))


def version():
    """The Formacode version of our codes (``@ref`` in LHEO)."""
    return getattr(settings, "FORMACODE_VERSION", None) or _data()["version"]


def publics():
    """{code: label} of the « public visé » codes."""
    return dict(_data()["publics"])


def tout_public():
    return _data()["tout_public"]


def public_codes(text):
    """The known « public visé » codes in ``text`` (« 80006 82044 »), in order, no duplicate."""
    known = publics()
    out = []
    for code in (text or "").replace(",", " ").split():
        if code in known and code not in out:
            out.append(code)
    return out
