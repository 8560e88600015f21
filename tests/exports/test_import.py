"""LHEO import of partner flows (SPEC H3): round trip, idempotency, archiving of what a full
flow no longer holds, read-only partner offer, and the refusals (namespace, malformed XML,
entities, size) that leave the database untouched."""

import io
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from lxml import etree

from ofeli.exports import importer
from ofeli.exports.importer import ImportRefused, check_file, import_lheo, iter_formations, parse_formation
from ofeli.exports.lheo import NAMESPACES, write_offer
from ofeli.exports.models import ImportRun
from ofeli.exports.validation import safe_parser, validate_lheo
from ofeli.formations.enums import Source
from ofeli.formations.models import Formation, FormationVersion, Session
from ofeli.structures.models import Structure
from ofeli.users.perms import can_edit_formation
from tests.exports.builders import full_published_formation
from tests.factories import MembershipFactory, luhn_siret, published_formation

pytestmark = pytest.mark.django_db
VERSIONS = ["2.2", "2.3"]
_STAMPS = re.compile(rb' (?:horodatage-creation|horodatage-modification|datecrea|datemaj)="[^"]*"')
_NUMEROS = re.compile(rb'(<(?:formation|action|session)\b[^>]*?) numero="[^"]*"')


def canonical(data):
    """The document without our identifiers of formations / sessions and without stamps:
    what must survive a round trip through another system."""
    return _NUMEROS.sub(rb"\1", _STAMPS.sub(b"", data))


def exported(version, **kwargs):
    stream = io.BytesIO()
    write_offer(stream, version, **kwargs)
    return stream.getvalue()


@pytest.fixture
def offer_file(tmp_path):
    """Our published offer (a minimal and a complete formation) exported as a partner would send it."""

    def build(version="2.3"):
        published_formation(sessions=2)
        full_published_formation()
        path = tmp_path / f"flux-{version}.xml"
        path.write_bytes(exported(version))
        return path

    return build


def counts():
    return (
        Formation.objects.count(),
        FormationVersion.objects.count(),
        Session.objects.count(),
        Structure.objects.count(),
    )


def test_h3_round_trip_export_import_export_gives_the_same_offer_23(offer_file):
    path = offer_file("2.3")
    report = import_lheo(path, "partner")
    assert (report.formations_created, report.sessions_created, report.structures_created) == (2, 4, 0)
    imported = Formation.objects.filter(source=Source.PARTNER)
    again = exported("2.3", formations=imported)
    assert validate_lheo(io.BytesIO(again), "2.3") == []
    assert canonical(again) == canonical(path.read_bytes())
    assert {f.source_id for f in imported} == {f.reference for f in Formation.objects.filter(source=Source.OF)}


def test_h3b_round_trip_22_gives_the_same_offer(offer_file):
    """What 2.2 carries comes back whole: the kept original is written back (H3b)."""
    path = offer_file("2.2")
    import_lheo(path, "region")
    again = exported("2.2", formations=Formation.objects.filter(source=Source.REGION))
    assert validate_lheo(io.BytesIO(again), "2.2") == []
    assert canonical(path.read_bytes()) == canonical(again)


def test_h3_reimporting_the_same_file_changes_nothing(offer_file):
    path = offer_file()
    import_lheo(path, "france_travail")
    before = counts()
    report = import_lheo(path, "france_travail")
    assert not report.changed and report.formations_unchanged == 2
    assert counts() == before
    assert ImportRun.objects.latest("pk").status == "unchanged"


def _without_session(data, reference):
    """The document without the <action> of session ``reference``."""
    root = etree.fromstring(data, safe_parser())
    for action in root.iter("{*}action"):
        if action.find("{*}session").get("numero") == reference:
            action.getparent().remove(action)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def test_h3_a_session_missing_from_a_full_flow_is_archived_and_comes_back(offer_file, tmp_path):
    path = offer_file()
    import_lheo(path, "partner")
    minimal = Formation.objects.filter(source=Source.OF).order_by("pk").first()
    gone = minimal.live_version.sessions.order_by("date_debut").last().session.reference
    smaller = tmp_path / "sans-session.xml"
    smaller.write_bytes(_without_session(path.read_bytes(), gone))
    report = import_lheo(smaller, "partner")
    assert report.sessions_archived == 1 and report.formations_updated == 1
    session = Session.objects.get(formation__source=Source.PARTNER, source_id=gone)
    assert session.archived_at is not None
    again = exported("2.3", formations=Formation.objects.filter(source=Source.PARTNER))
    assert canonical(again) == canonical(smaller.read_bytes())
    # Back in the next full flow: reactivated.
    report = import_lheo(path, "partner")
    session.refresh_from_db()
    assert session.archived_at is None and report.sessions_reactivated == 1


def test_h3_a_formation_missing_from_a_full_flow_is_archived_not_from_a_partial_one(offer_file, tmp_path):
    path = offer_file()
    import_lheo(path, "partner")
    root = etree.fromstring(path.read_bytes(), safe_parser())
    offres = root.find("{*}offres")
    dropped = offres.findall("{*}formation")[0]
    offres.remove(dropped)
    partial = tmp_path / "partiel.xml"
    partial.write_bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))
    import_lheo(partial, "partner", full=False)
    assert not Formation.objects.filter(source=Source.PARTNER, archived_at__isnull=False).exists()
    report = import_lheo(partial, "partner")
    assert report.formations_archived == 1
    assert Formation.objects.get(source=Source.PARTNER, source_id=dropped.get("numero")).archived_at is not None
    # Another source's offer is never touched by this one's flows.
    import_lheo(path, "region")
    import_lheo(partial, "partner")
    assert not Formation.objects.filter(source=Source.REGION, archived_at__isnull=False).exists()


def test_h3_withdrawals_of_our_delta_flows_are_applied(offer_file, tmp_path):
    path = offer_file()
    import_lheo(path, "partner")
    reference = Session.objects.filter(formation__source=Source.OF).order_by("pk").first().reference
    data = path.read_bytes().replace(
        b"</offres>",
        b'</offres><extras info="sessions-retirees"><extra info="session" numero="'
        + reference.encode()
        + b'"/></extras>',
    )
    delta = tmp_path / "modifications.xml"
    delta.write_bytes(data)
    report = import_lheo(delta, "partner", full=False)
    assert report.sessions_archived == 1
    assert Session.objects.get(formation__source=Source.PARTNER, source_id=reference).archived_at


def test_h3_imported_offer_is_read_only_for_of_users_and_published(offer_file, client):
    path = offer_file()
    import_lheo(path, "region")
    formation = Formation.objects.filter(source=Source.REGION).first()
    user = MembershipFactory(structure=formation.structure).user
    assert not can_edit_formation(user, formation)
    assert formation.is_partner_fed and formation.live_version and formation.published_at
    assert formation.history.filter(action="imported").exists()
    client.force_login(user)
    html = client.get("/ofeli/formations/", {"reference": formation.reference}).content.decode()
    assert "Flux partenaire" in html


def test_h3_unknown_organismes_are_created_diffused(offer_file, tmp_path):
    path = offer_file()
    data = path.read_bytes()
    sirets = []
    for structure in Structure.objects.all():
        sirets.append(luhn_siret(7000000 + structure.pk))
        data = data.replace(structure.siret.encode(), sirets[-1].encode())
    other = tmp_path / "autres-organismes.xml"
    other.write_bytes(data)
    report = import_lheo(other, "partner")
    assert report.structures_created == 3  # two organismes responsables and a trainer
    created = Structure.objects.filter(siret__in=sirets)
    assert created.count() == 3
    assert all(s.etat.is_diffused for s in created)
    responsables = created.filter(formations__source=Source.PARTNER).distinct()
    assert responsables.count() == 2 and all(s.live_version.code_postal for s in responsables)
    again = exported("2.3", formations=Formation.objects.filter(source=Source.PARTNER))
    assert validate_lheo(io.BytesIO(again), "2.3") == []


def test_h3_import_command_reports_and_refuses(offer_file, tmp_path):
    path = offer_file()
    out = io.StringIO()
    call_command("import_lheo", str(path), "--source", "partner", stdout=out, stderr=io.StringIO())
    assert "2 formation(s) créée(s)" in out.getvalue()
    bad = tmp_path / "mauvais.xml"
    bad.write_bytes(b"<lheo")
    with pytest.raises(CommandError) as excinfo:
        call_command("import_lheo", str(bad), "--source", "partner")
    assert excinfo.value.returncode == 1 and "refusé" in str(excinfo.value)
    with pytest.raises(CommandError):
        call_command("import_lheo", str(path), "--source", "inconnue")


# --- refusals: nothing imported, a clear message -------------------------------------------------


def refused(path, message):
    before = counts()
    with pytest.raises(ImportRefused) as excinfo:
        import_lheo(path, "partner")
    assert message in str(excinfo.value), str(excinfo.value)
    assert counts() == before
    run = ImportRun.objects.latest("pk")
    assert run.status == "failed" and run.error
    return excinfo.value


def test_h3_wrong_namespace_is_refused(tmp_path, offer_file):
    path = offer_file()
    wrong = tmp_path / "wrong.xml"
    wrong.write_bytes(path.read_bytes().replace(NAMESPACES["2.3"].encode(), b"http://example.org/lheo"))
    refused(wrong, "Ce n'est pas un document LHEO")
    plain = tmp_path / "plain.xml"
    plain.write_bytes(b"<?xml version='1.0'?><offres/>")
    refused(plain, "Ce n'est pas un document LHEO")


def test_h3_malformed_or_invalid_xml_is_refused(tmp_path, offer_file):
    path = offer_file()
    data = path.read_bytes()
    truncated = tmp_path / "tronque.xml"
    truncated.write_bytes(data[: len(data) // 2])
    # A validating parse ends silently on a truncated file: the validation says so itself.
    assert "XML mal formé" in validate_lheo(str(truncated), "2.3")[0]
    refused(truncated, "XML mal formé")
    invalid = tmp_path / "invalide.xml"
    invalid.write_bytes(re.sub(rb"<intitule-formation>[^<]*</intitule-formation>", b"", data, count=1))
    refused(invalid, "non valide")
    refused(tmp_path / "absent.xml", "introuvable")


def test_h3_entity_bombs_and_external_entities_are_refused(tmp_path):
    ns = NAMESPACES["2.3"]
    entities = "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10}">' for i in range(1, 10))
    bomb = tmp_path / "bomb.xml"
    bomb.write_text(
        f'<?xml version="1.0"?><!DOCTYPE lheo [<!ENTITY e0 "lol">{entities}]>'
        f'<lheo xmlns="{ns}"><offres>&e9;</offres></lheo>'
    )
    refused(bomb, "DTD")  # refused at the DTD, before any expansion
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xxe = tmp_path / "xxe.xml"
    xxe.write_text(
        f'<?xml version="1.0"?><!DOCTYPE lheo [<!ENTITY x SYSTEM "file://{secret}">]>'
        f'<lheo xmlns="{ns}"><offres>&x;</offres></lheo>'
    )
    error = refused(xxe, "DTD")
    assert "TOP-SECRET" not in str(error)
    # A DTD hidden after a long comment is found all the same.
    hidden = tmp_path / "hidden.xml"
    hidden.write_text(
        f'<?xml version="1.0"?><!--{"x" * 100_000}--><!DOCTYPE lheo [<!ENTITY e0 "lol">]>'
        f'<lheo xmlns="{ns}"><offres>&e0;</offres></lheo>'
    )
    refused(hidden, "DTD")


def test_h3_a_file_above_the_size_limit_is_refused_unread(tmp_path, offer_file, settings):
    path = offer_file()
    settings.LHEO_IMPORT_MAX_BYTES = 1000
    refused(path, "trop volumineux")


@pytest.mark.parametrize("where", ["formation", "intitule-formation"])
def test_h3_a_200_mb_file_with_a_huge_text_node_is_refused_without_loading_it(tmp_path, where):
    """200 MB in one text node: the parser's limits (huge_tree off) stop it early, and the
    message says what is wrong (issue 15: not « no element found (line 0) »)."""
    big = tmp_path / "enorme.xml"
    chunk = b"a" * (1 << 20)
    with big.open("wb") as stream:
        stream.write(f'<?xml version="1.0"?><lheo xmlns="{NAMESPACES["2.3"]}"><offres><formation>'.encode())
        if where != "formation":
            stream.write(
                b"<domaine-formation><code-FORMACODE>22454</code-FORMACODE></domaine-formation><"
                + where.encode()
                + b">"
            )
        for _ in range(200):
            stream.write(chunk)
        if where != "formation":
            stream.write(b"</" + where.encode() + b">")
        stream.write(b"</formation></offres></lheo>")
    assert big.stat().st_size > 200 * 1024 * 1024
    try:
        error = refused(big, "dépasse la limite de sécurité de 10 000 000 caractères (ligne 1, colonne ")
        assert "no element found" not in str(error)
    finally:
        big.unlink()  # do not keep 200 MB in pytest's temporary folders


def _rss():
    with open("/proc/self/statm") as stream:
        return int(stream.read().split()[1]) * 4096


def test_h3_a_large_flow_is_read_in_bounded_memory(tmp_path, offer_file):
    """30 MB of formations are validated and parsed one formation at a time: memory does not
    grow with the file (a whole tree of it would take several hundred MB)."""
    path = offer_file()
    data = path.read_bytes()
    head, rest = data.split(b"<offres>", 1)
    body, tail = rest.rsplit(b"</offres>", 1)
    big = tmp_path / "gros.xml"
    with big.open("wb") as stream:
        stream.write(head + b"<offres>")
        n = 0
        while stream.tell() < 30 * 1024 * 1024:
            offset = 100000 * n
            stream.write(
                re.sub(rb'numero="(\d+)F"', lambda m, o=offset: f'numero="{int(m.group(1)) + o}F"'.encode(), body)
            )
            n += 1
        stream.write(b"</offres>" + tail)
    before = _rss()
    version = check_file(big)
    reader = importer.Reader(version)
    parsed = sum(1 for element, _ in iter_formations(big, version) if parse_formation(reader, element))
    big.unlink()
    assert parsed == 2 * n
    assert _rss() - before < 120 * 1024 * 1024
