"""Validation of LHEO documents against the official schemas (SPEC H2).

The schemas are read once per process with a parser that resolves no entity, loads no DTD
and never goes to the network (``ofeli.core.safe_xml``). Documents are validated while they
are parsed (iterparse), and each <formation> is dropped once read, so a flow of any size is
validated in bounded memory. Comments and processing instructions are dropped as they are read
(``remove_comments`` / ``remove_pis``): 200 MB of comments before the first <formation> take
no memory (issue 15). A text node, comment or name over libxml2's limit (10,000,000
characters, ``huge_tree`` off) stops the parse at once with a message that says so."""

from functools import cache
from pathlib import Path

from lxml import etree

from ofeli.core.safe_xml import safe_iterparse, safe_parser

XSD_DIR = Path(__file__).parent / "xsd"
SCHEMAS = {"2.2": XSD_DIR / "lheo-2.2.xsd", "2.3": XSD_DIR / "lheo-2.3.xsd"}


@cache
def _schema_document(version):
    if version not in SCHEMAS:
        raise ValueError(f"Version LHEO inconnue : {version} (attendu : {', '.join(SCHEMAS)}).")
    return etree.parse(str(SCHEMAS[version]), safe_parser())


@cache
def schema(version):
    return etree.XMLSchema(_schema_document(version))


def target_namespace(version):
    """The namespace of LHEO ``version`` documents, as its schema declares it."""
    return _schema_document(version).getroot().get("targetNamespace")


def _message(entry):
    return f"ligne {entry.line} : {entry.message}" if entry.line > 0 else entry.message


_LIMITS = ("Resource limit exceeded", "too long", "too big", "huge")


def _where(line, column):
    return f"ligne {line}, colonne {column}" if line and line > 0 else "début du fichier"


def syntax_message(exc):
    """The French message of a parse error (lxml XMLSyntaxError): what is wrong and where."""
    line, column = getattr(exc, "position", (0, 0)) or (0, 0)
    where = _where(line, column)
    text = str(exc).split(", line ")[0]
    if any(marker in text for marker in _LIMITS):
        return (
            f"un texte, un commentaire ou un nom dépasse la limite de sécurité de 10 000 000 caractères ({where}) : "
            "le fichier est refusé sans être chargé en mémoire"
        )
    if "no element found" in text or "Document is empty" in text:
        return f"document XML vide ou tronqué ({where})"
    return f"XML mal formé ({where}) : {text}"


def syntax_error(source):
    """The message of the first well-formedness error of ``source``, None when it is
    well-formed. Streaming, in flat memory; used when the validating parse failed, because
    its message can hide the cause (a text node over the limit ends as « no element
    found (line 0) »)."""
    if hasattr(source, "seek"):
        source.seek(0)
    try:
        for _event, element in safe_iterparse(source, events=("end",), remove_comments=True, remove_pis=True):
            parent = element.getparent()
            if parent is not None and parent.getparent() is not None and parent.getparent().getparent() is not None:
                continue  # deeper than a <formation>: cleared with it
            element.clear(keep_tail=True)
            while element.getprevious() is not None:
                del element.getparent()[0]
    except etree.XMLSyntaxError as exc:
        return syntax_message(exc)
    return None


def _unique(messages):
    return list(dict.fromkeys(messages))


def validate_lheo(source, version, *, max_errors=100):
    """Errors of the LHEO ``version`` document ``source`` (a path or a binary file
    object); an empty list when it is valid."""
    xsd = etree.XMLSchema(_schema_document(version))  # its own error log: nothing of earlier documents
    ns = target_namespace(version)
    formation, root = f"{{{ns}}}formation", f"{{{ns}}}lheo"
    complete = False
    try:
        for _event, element in safe_iterparse(
            source, events=("end",), tag=(formation, root), schema=xsd, remove_comments=True, remove_pis=True
        ):
            if element.getparent() is None:
                complete = True  # a validating parse may end silently on a truncated file
                continue
            element.clear(keep_tail=True)
            while element.getprevious() is not None:
                del element.getparent()[0]
    except etree.XMLSyntaxError as exc:
        # A fatal parse error (limit, malformed) comes first; schema errors follow.
        syntax = syntax_error(source)
        if syntax is not None:
            return [syntax]
        schema_errors = _unique(_message(e) for e in exc.error_log if e.domain == etree.ErrorDomains.SCHEMASV)
        return (schema_errors or [syntax_message(exc)])[:max_errors]
    except OSError as exc:
        return [f"Lecture impossible : {exc}"]
    if not complete:
        return [syntax_error(source) or "document XML vide ou tronqué"]
    return []
