"""Validation of LHEO documents against the official schemas (SPEC H2).

The schemas are read once per process with a parser that resolves no entity, loads no DTD
and never goes to the network (``ofeli.core.safe_xml``). Documents are validated while they
are parsed (iterparse), and each <formation> is dropped once read, so a flow of any size is
validated in bounded memory."""

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


def validate_lheo(source, version, *, max_errors=100):
    """Errors of the LHEO ``version`` document ``source`` (a path or a binary file
    object); an empty list when it is valid."""
    xsd = schema(version)
    formation = f"{{{target_namespace(version)}}}formation"
    try:
        for _event, element in safe_iterparse(source, events=("end",), tag=formation, schema=xsd):
            element.clear(keep_tail=True)
            while element.getprevious() is not None:
                del element.getparent()[0]
    except etree.XMLSyntaxError as exc:
        errors = [_message(entry) for entry in exc.error_log] or [str(exc)]
        return errors[:max_errors]
    except OSError as exc:
        return [f"Lecture impossible : {exc}"]
    return []
