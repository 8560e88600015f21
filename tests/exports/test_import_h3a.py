"""LHEO import keeps everything a partner's file carries (SPEC H3a): real LHEO files no one
here wrote (tests/exports/fixtures, sources in its README) import and come back whole on
export, under the partner's own numéros; unknown codes are kept and reported; duplicates and
database failures are reported, never silent."""

import datetime
import io
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from lxml import etree

from ofeli.exports.importer import ImportFailed, import_lheo
from ofeli.exports.lheo import NAMESPACES, EmptyOffer, write_offer
from ofeli.exports.models import ImportedFormation, ImportRun, ImportStatus
from ofeli.exports.validation import safe_parser, validate_lheo
from ofeli.formations.enums import Source
from ofeli.formations.models import Formation, FormationVersion, Session
from ofeli.structures.models import Contact, Structure
from tests.exports.builders import full_published_formation

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).parent / "fixtures"
OFFICIAL_22 = FIXTURES / "lheo-schema-exemple-bts-onisep-2.2.xml"
CARIF_22 = FIXTURES / "carif-flux-2.2.xml"
STAMPS = ("horodatage-creation", "horodatage-modification", "horodatage-export", "datecrea", "datemaj")


@pytest.fixture
def referentials():
    """As in any installation: the referentials (structure states, financeurs...) are loaded."""
    call_command("load_referentials", stdout=io.StringIO())


def exported(version, **kwargs):
    stream = io.BytesIO()
    write_offer(stream, version, **kwargs)
    return stream.getvalue()


def canonical_formations(data):
    """Each <formation> as canonical XML (C14N), stamps and whitespace between elements
    left out: what must survive an import and an export."""
    root = etree.fromstring(data, safe_parser(remove_blank_text=True, remove_comments=True))
    out = []
    for formation in root.iter("{*}formation"):
        for el in formation.iter():
            for name in STAMPS:
                el.attrib.pop(name, None)
            if el.text is not None and not el.text.strip() and len(el):
                el.text = None
            el.tail = None
        out.append(etree.tostring(formation, method="c14n"))
    return sorted(out)


def current(path, tmp_path):
    """The fixture with its session two years on from now (ended sessions are not exported)."""
    year = datetime.date.today().year
    data = path.read_bytes().replace(b"<debut>2015", f"<debut>{year + 1}".encode())
    data = data.replace(b"<fin>2017", f"<fin>{year + 3}".encode())
    copy = tmp_path / path.name
    copy.write_bytes(data)
    return copy


def test_h3a_the_official_lheo_22_example_comes_back_whole(referentials, tmp_path):
    """lheo/lheo-schema data/exemple-bts-onisep.xml: every element and attribute (Formacode
    @ref/@tag, code-public-vise, region/pays, url-action, potentiel, extras, contacts without
    numero, coordinates to 7 decimals...) is written back, under the partner's numéros."""
    path = current(OFFICIAL_22, tmp_path)
    report = import_lheo(path, "region")
    assert (report.formations_created, report.sessions_created) == (1, 1)
    again = exported("2.2")
    assert validate_lheo(io.BytesIO(again), "2.2") == []
    assert canonical_formations(again) == canonical_formations(path.read_bytes())


@pytest.fixture
def carif_export(referentials):
    import_lheo(CARIF_22, "region")
    data = exported("2.2")
    assert validate_lheo(io.BytesIO(data), "2.2") == []
    root = etree.fromstring(data, safe_parser())
    ns = {"l": NAMESPACES["2.2"]}

    def values(path):
        return [(x if isinstance(x, str) else (x.text or "")).strip() for x in root.xpath(path, namespaces=ns)]

    return values


# Each loss found importing real Carif 2.2 flows (issue 9), as an XPath on our re-export.
LOSSES = {
    "certifiante": ("//l:formation/l:certifiante", ["1"]),
    "code-rncp-not-in-referential": ("//l:certification/l:code-RNCP", ["99995"]),
    "code-certifinfo-not-in-referential": ("//l:certification/l:code-CERTIFINFO", ["999994"]),
    "code-nsf-not-in-referential": ("//l:domaine-formation/l:code-NSF", ["233"]),
    "code-public-vise": ("//l:action/l:code-public-vise/@ref", ["V13", "V13"]),
    "code-public-vise-codes": ("//l:action/l:code-public-vise", ["80056", "15041"]),
    "niveau-entree-obligatoire": ("//l:action/l:niveau-entree-obligatoire", ["1"]),
    "prise-en-charge-frais-possible": ("//l:action/l:prise-en-charge-frais-possible", ["1"]),
    "region": ("//l:lieu-de-formation//l:adresse/l:region", ["53"]),
    "pays": ("//l:lieu-de-formation//l:adresse/l:pays", ["FR"]),
    "url-action": ("//l:action/l:url-action/l:urlweb", ["https://www.afpa-exemple.fr/session/76543"]),
    "place-name": ("//l:lieu-de-formation/l:coordonnees/l:nom", ["Centre de Rennes"]),
    "potentiel": ("//l:potentiel/l:code-FORMACODE", ["22454", "22403"]),
    "renseignements-specifiques": (
        "//l:renseignements-specifiques",
        ["Centre agréé pour les titres du ministère du travail."],
    ),
    "extras": (
        "//l:extras/@info",
        ["session", "action", "organisme", "formation"],
    ),
    "extra-values": ("//l:action/l:extras/l:extra", ["PRF 2025", "2024-BR-017"]),
    "formacode-ref": ("//l:domaine-formation/l:code-FORMACODE/@ref", ["V13", "V13"]),
    "formacode-tag": ("//l:domaine-formation/l:code-FORMACODE/@tag", ["principal"]),
    "financeur-codes-not-in-local-table": ("//l:organisme-financeur/l:code-financeur", ["2", "10", "17", "0"]),
    "contacts-without-numero": (
        "//l:contact-formation/l:coordonnees/l:nom | //l:contact-organisme/l:coordonnees/l:nom"
        " | //l:contact-formateur/l:coordonnees/l:nom",
        ["Le Gall", "Martin", "Durand"],
    ),
    "contact-civilite": ("//l:contact-formation/l:coordonnees/l:civilite", ["Madame"]),
    "adresse-information": ("//l:adresse-information/l:adresse/l:ligne", ["3 place de la Gare"]),
    "date-information": ("//l:date-information/l:date", ["20341015"]),
    "langue-formation": ("//l:langue-formation", ["fr"]),
    "modalites-recrutement-text": (
        "//l:modalites-recrutement",
        ["Information collective puis entretien individuel ; tests de positionnement."],
    ),
    "nda-with-a-letter": ("//l:numero-activite", ["7331P001531"]),
    "longitude-not-rounded": ("//l:lieu-de-formation//l:longitude", ["-1.6800198"]),
    "duree-indicative": ("//l:duree-indicative", ["6 mois"]),
    "partner-numeros": (
        "//l:formation/@numero | //l:action/@numero | //l:session/@numero | //l:organisme-formation-responsable/@numero",
        ["14_AF_0000012345", "14_SE_0000076543", "14_SE_0000076543", "OF_4471"],
    ),
}


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_h3a_nothing_of_a_carif_flow_is_lost(carif_export, loss):
    path, expected = LOSSES[loss]
    assert carif_export(path) == expected


def test_h3a_a_carif_flow_comes_back_whole_in_22(referentials):
    import_lheo(CARIF_22, "partner")
    assert canonical_formations(exported("2.2")) == canonical_formations(CARIF_22.read_bytes())


def test_h3a_a_22_flow_exported_in_23_keeps_what_23_carries(referentials):
    """The kept 2.2 formation is converted (namespace, elements 2.3 has): still valid, still whole."""
    import_lheo(CARIF_22, "region")
    data = exported("2.3")
    assert validate_lheo(io.BytesIO(data), "2.3") == []
    root = etree.fromstring(data, safe_parser())
    ns = {"l": NAMESPACES["2.3"]}
    assert [x.text for x in root.xpath("//l:code-public-vise", namespaces=ns)] == ["80056", "15041"]
    assert root.xpath("string(//l:numero-activite)", namespaces=ns) == "7331P001531"
    assert root.xpath("//l:formation/@numero", namespaces=ns) == ["14_AF_0000012345"]
    assert len(root.xpath("//l:extras", namespaces=ns)) == 4


def test_h3a_typed_fields_and_reports_of_unknown_codes(referentials):
    """What the product uses is typed (contacts without numero, NDA with its letter, the
    financeur the local table knows); unknown codes are reported, never dropped."""
    report = import_lheo(CARIF_22, "region")
    structure = Structure.objects.get(siret="82424809400029")
    assert structure.nda == "7331P001531"
    assert Contact.objects.filter(structure=structure, nom="Durand").exists()
    assert Contact.objects.filter(nom="Martin", prenom="Paul").exists()
    warnings = " | ".join(report.warnings)
    assert "RNCP 99995" in warnings and "CERTIFINFO 999994" in warnings and "codes conservés tels quels" in warnings
    assert "code financeur LHEO 17 (Transition Pro)" in warnings
    version = Formation.objects.get(source=Source.REGION).live_version
    assert version.formacodes == "22454 22452"
    kept = ImportedFormation.objects.get(formation__source=Source.REGION)
    assert kept.version_id == version.pk and kept.lheo_version == "2.2" and kept.original
    run = ImportRun.objects.latest("pk")
    assert run.status == ImportStatus.DONE and run.finished_at and run.report["avertissements"]


def test_h3a_partner_fed_offer_policy_per_source(settings):
    """Decided per source (docs/lheo-mapping.md): « source » = under the partner's numéros,
    « exclure » = in no LHEO document."""
    full_published_formation()
    import_lheo(CARIF_22, "france_travail")
    assert b'numero="14_AF_0000012345"' in exported("2.3")
    settings.LHEO_PARTNER_FED_EXPORT = {"france_travail": "exclure"}
    data = exported("2.3")
    assert b"14_AF_0000012345" not in data and b"<formation" in data
    with pytest.raises(EmptyOffer):
        exported("2.3", formations=Formation.objects.filter(source=Source.FRANCE_TRAVAIL))


def _two_sessions(tmp_path):
    data = CARIF_22.read_bytes()
    start, end = data.index(b"<session "), data.index(b"</session>") + len(b"</session>")
    second = data[start:end].replace(b'numero="14_SE_0000076543"', b'numero="14_SE_0000076544"')
    path = tmp_path / "deux-sessions.xml"
    path.write_bytes(data[:end] + b"\n" + second + data[end:])
    return path, data[:end] + data[end:]


def test_h3a_an_archived_session_is_left_out_of_the_kept_formation(referentials, tmp_path):
    path, _ = _two_sessions(tmp_path)
    report = import_lheo(path, "region")
    assert report.sessions_created == 2
    root = etree.fromstring(exported("2.2"), safe_parser())
    assert len(root.findall(".//{*}action")) == 1 and len(root.findall(".//{*}session")) == 2
    Session.objects.filter(source_id="14_SE_0000076544").update(archived_at="2025-01-01T00:00Z")
    again = exported("2.2")
    assert validate_lheo(io.BytesIO(again), "2.2") == []
    assert canonical_formations(again) == canonical_formations(CARIF_22.read_bytes())


def test_h3a_duplicate_numeros_are_errors_in_the_report(referentials, tmp_path):
    path, _ = _two_sessions(tmp_path)
    data = path.read_bytes().replace(b'numero="14_SE_0000076544"', b'numero="14_SE_0000076543"')
    start, end = data.index(b"<formation "), data.index(b"</formation>") + len(b"</formation>")
    duplicate = tmp_path / "doublons.xml"
    duplicate.write_bytes(data[:end] + b"\n" + data[start:end] + data[end:])
    report = import_lheo(duplicate, "region")
    assert report.formations_created == 1 and report.sessions_created == 1
    assert any("numéro de session 14_SE_0000076543 en double" in e for e in report.errors)
    assert any("14_AF_0000012345 : numéro de formation en double" in e for e in report.errors)
    assert ImportRun.objects.latest("pk").report["erreurs"] == report.errors
    with pytest.raises(CommandError) as exc:
        call_command("import_lheo", str(duplicate), "--source", "region", stderr=io.StringIO())
    assert exc.value.returncode == 2


def test_h3a_a_valid_file_failing_in_the_database_imports_nothing_and_records_why(tmp_path):
    """Two cycles of the same year are valid LHEO but break a constraint at the end."""
    full_published_formation()
    data = exported("2.3")
    cycle = re.search(rb"<cycle>.*?</cycle>", data, re.S)
    assert cycle is not None
    path = tmp_path / "cycles.xml"
    path.write_bytes(data[: cycle.end()] + cycle.group(0) + data[cycle.end() :])
    assert validate_lheo(str(path), "2.3") == []
    before = (Formation.objects.count(), FormationVersion.objects.count(), Session.objects.count())
    with pytest.raises(ImportFailed, match="rien n'a été importé"):
        import_lheo(path, "partner")
    assert (Formation.objects.count(), FormationVersion.objects.count(), Session.objects.count()) == before
    run = ImportRun.objects.latest("pk")
    assert run.status == ImportStatus.FAILED and run.finished_at is not None
    assert "IntegrityError" in run.error and "rien n'a été importé" in run.error
