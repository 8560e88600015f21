"""What an LHEO import kept, written back on export (SPEC H3a, H3b).

The importer (``importer.py``) maps what the product uses into typed fields and keeps the
partner's ``<formation>`` exactly as the file carried it (``ImportedFormation.original``,
zlib-compressed XML, with the LHEO version it came in and the formation version it was
imported into). While that version is the published one, the export writes the partner's
formation back from it, so nothing a partner sent is lost — certifiante, codes outside our
referential, code-public-vise, extras, Formacode ``@ref`` / ``@tag``, contacts without
``@numero``, NDA with a letter, coordinates to the last decimal... — with our changes applied:

- only the sessions of the published offer are written (an archived session is left out;
  an action left without session goes with it);
- our stamps (``horodatage-*`` / ``datecrea`` / ``datemaj``) replace the partner's, so that
  deltas and ``--since`` see re-imports;
- a formation kept in the other LHEO version is converted (namespace, codes of levels and
  financeurs, elements the target version does not have are dropped) and written back only
  if the result is valid; else it is written from the typed fields.

Identity (``settings.LHEO_PARTNER_FED_EXPORT``, docs/lheo-mapping.md): per source of
partner-fed offer, « source » writes it under the partner's own numéros (formation, action,
session, organisme, as the partner sent them — never under new numbers), « exclure » leaves
it out of every LHEO document. When the original cannot be used (Carif staff published a
change of the formation, or conversion failed) the typed export gets the partner's formation
and session numéros.
"""

import zlib
from functools import cache

from django.conf import settings
from lxml import etree

from ofeli.core.safe_xml import safe_parser
from ofeli.formations.enums import Source
from ofeli.formations.models import Session

from .validation import _schema_document, schema

XS = "{http://www.w3.org/2001/XMLSchema}"
PARTNER_SOURCES = (Source.REGION, Source.FRANCE_TRAVAIL, Source.PARTNER)
DEFAULT_POLICY = {Source.REGION: "source", Source.FRANCE_TRAVAIL: "source", Source.PARTNER: "source"}
STAMPS = ("horodatage-creation", "horodatage-modification", "horodatage-export", "datecrea", "datemaj")
# 2019 levels (2.3) -> the 2.2 nomenclature; 2.3-only financeurs -> « État - Autre » (2.2).
_NIVEAUX_23_TO_22 = {"11": "2", "12": "3", "13": "4", "14": "5", "15": "6", "16": "7", "17": "8", "18": "8"}
_FINANCEURS_23_TO_22 = {"18": "13", "19": "13", "20": "13"}


def policy():
    """Source -> « source » (exported under the partner's numéros) or « exclure »."""
    configured = getattr(settings, "LHEO_PARTNER_FED_EXPORT", None) or {}
    return {**DEFAULT_POLICY, **configured}


def excluded_sources():
    return [source for source, mode in policy().items() if mode == "exclure"]


def exportable(queryset):
    """``queryset`` of formations without the partner-fed offer left out of LHEO documents."""
    excluded = excluded_sources()
    return queryset.exclude(source__in=excluded) if excluded else queryset


def compress(data):
    # Level 1: three times faster than the default for a few per cent more bytes (an import
    # compresses every formation it writes).
    return zlib.compress(data, 1)


def original_of(data):
    return etree.fromstring(zlib.decompress(bytes(data)), safe_parser(remove_blank_text=False))


def session_key(session, action_index, session_index):
    """The identity of a partner's session: its numero, else its place in the formation."""
    return session.get("numero") or f"~{action_index}.{session_index}"


# --- reading the chunk ------------------------------------------------------------------------


def attach(formations):
    """Give the partner-fed formations of a chunk their kept original (``kept``) and their
    sessions their partner numéros (``source_id``): two queries, only for chunks holding
    partner-fed offer."""
    fed = {f["pk"]: f for f in formations if f.get("source") in PARTNER_SOURCES}
    if not fed:
        return
    from .models import ImportedFormation

    rows = ImportedFormation.objects.filter(formation_id__in=list(fed)).values_list(
        "formation_id", "version_id", "lheo_version", "original"
    )
    for formation_id, version_id, lheo_version, original in rows:
        formation = fed[formation_id]
        if original and version_id == formation["live_version_id"]:
            formation["kept"] = (lheo_version, bytes(original))
    numeros = dict(Session.objects.filter(formation_id__in=list(fed)).values_list("pk", "source_id"))
    for formation in fed.values():
        for sv in formation["sessions"]:
            sv["source_id"] = numeros.get(sv["session_id"], "")


# --- schema knowledge -------------------------------------------------------------------------


@cache
def content_models(version):
    """Element name -> names of the child elements its type allows (LHEO declares every
    element globally and refers to it), for converting a kept formation between versions."""
    root = _schema_document(version).getroot()
    types = {t.get("name"): t for t in root.iter(f"{XS}complexType") if t.get("name")}

    def children(type_name, depth=0):
        node = types.get(type_name)
        if node is None or depth > 5:
            return []
        names = []
        for extension in node.iter(f"{XS}extension"):
            names += children(extension.get("base", "").split(":")[-1], depth + 1)
        names += [el.get("ref").split(":")[-1] for el in node.iter(f"{XS}element") if el.get("ref")]
        return names

    return {
        el.get("name"): set(children(el.get("type", "").split(":")[-1]))
        for el in root.findall(f"{XS}element")
        if el.get("name")
    }


def convert(element, source_version, target_version):
    """A copy of the <formation> ``element`` of LHEO ``source_version`` in
    ``target_version``, or None when the result is not valid."""
    from .lheo import NAMESPACES

    models = content_models(target_version)
    ns = NAMESPACES[target_version]

    def copy(el, parent):
        name = etree.QName(el).localname
        new = etree.Element(f"{{{ns}}}{name}", dict(el.attrib), nsmap={None: ns}) if parent is None else None
        if new is None:
            if name not in models.get(etree.QName(parent).localname, ()):
                return
            new = etree.SubElement(parent, f"{{{ns}}}{name}", dict(el.attrib))
        new.text, new.tail = el.text, el.tail
        if target_version == "2.2" and new.text:
            code = new.text.strip()
            if name in ("code-niveau-entree", "code-niveau-sortie"):
                new.text = _NIVEAUX_23_TO_22.get(code, new.text)
            elif name == "code-financeur":
                new.text = _FINANCEURS_23_TO_22.get(code, new.text)
        for child in el:
            if isinstance(child.tag, str):
                copy(child, new)
        return new

    converted = copy(element, None)
    lheo = etree.Element(f"{{{ns}}}lheo", nsmap={None: ns})
    etree.SubElement(lheo, f"{{{ns}}}offres").append(converted)
    if not schema(target_version).validate(etree.ElementTree(lheo)):
        return None
    return converted


# --- writing back -----------------------------------------------------------------------------


def restore(writer, formation, built):
    """The <formation> to write for ``formation`` (a dict of the export's chunk reader) whose
    typed export is ``built``: the partner's kept formation with our changes, or ``built``
    under the partner's numéros; ``built`` itself for our own offer."""
    if built is None or formation.get("source") not in PARTNER_SOURCES:
        return built
    by_reference = {sv["reference"]: sv.get("source_id", "") for sv in formation["sessions"]}
    kept = formation.get("kept")
    if kept is not None:
        lheo_version, data = kept
        original = original_of(data)
        if lheo_version != writer.version:
            original = convert(original, lheo_version, writer.version)
        restored = None if original is None else _restore(writer, original, built, by_reference)
        if restored is not None:
            return restored
        writer.stats.warn(
            f"formation importée en LHEO {lheo_version} non reproductible en {writer.version} : "
            "écrite depuis les champs typés",
            formation["reference"],
        )
    _partner_numeros(writer, formation, built, by_reference)
    return built


def _stamps(element):
    return {name: value for name, value in element.attrib.items() if name in STAMPS}


def _set_stamps(element, stamps):
    for name in STAMPS:
        element.attrib.pop(name, None)
    element.attrib.update(stamps)


def _restore(writer, original, built, by_reference):
    q = writer.q
    sessions = {}  # partner numero -> our stamps of the session
    for session in built.iter(q("session")):
        numero = by_reference.get(session.get("numero"))
        if numero:
            sessions[numero] = _stamps(session)
    written = 0
    for action_index, action in enumerate(original.findall(q("action"))):
        for session_index, session in enumerate(action.findall(q("session"))):
            key = session_key(session, action_index, session_index)
            if key in sessions:
                _set_stamps(session, sessions[key])
                written += 1
            else:
                action.remove(session)
        if action.find(q("session")) is None:
            original.remove(action)
    if not written:
        return None
    _set_stamps(original, _stamps(built))
    return original


def _partner_numeros(writer, formation, built, by_reference):
    if formation.get("source_id"):
        built.set("numero", formation["source_id"])
    for session in built.iter(writer.q("session")):
        numero = by_reference.get(session.get("numero"))
        if numero and not numero.startswith("~"):
            session.set("numero", numero)


def stored(element, version):
    """What the importer keeps of a <formation> element: (version, compressed XML)."""
    return version, compress(etree.tostring(element, encoding="utf-8", with_tail=False))
