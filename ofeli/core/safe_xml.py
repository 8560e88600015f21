"""Parsing XML safely: partner LHEO flows (exports/importer.py), the France Compétences
export (referentials/importers.py) and our own documents and schemas (exports/validation.py).

The parser resolves no entity (the « billion laughs » bomb, external entities), loads no DTD,
never uses the network and keeps libxml2's limits (``huge_tree`` off: a 200 MB text node
stops it at once). A document that declares a DTD is refused by the callers, each with its
own message: ``declares_dtd`` tells them."""

from lxml import etree

PARSER_OPTIONS = {"resolve_entities": False, "no_network": True, "load_dtd": False, "huge_tree": False}


def safe_parser(**options):
    """An lxml parser with the safe options; ``options`` are added to them."""
    return etree.XMLParser(**PARSER_OPTIONS, **options)


def safe_iterparse(source, **options):
    """``etree.iterparse`` with the safe options; ``options`` (events, tag, schema...) are
    added to them."""
    return etree.iterparse(source, **PARSER_OPTIONS, **options)


def declares_dtd(element):
    """Whether the document of ``element`` (parsed at least up to its root) declares a DTD:
    any <!DOCTYPE>, with or without internal entities."""
    docinfo = element.getroottree().docinfo
    return bool(docinfo.doctype) or docinfo.internalDTD is not None
