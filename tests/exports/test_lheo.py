"""LHEO export of the published offer (SPEC H2, D5): validity against the official schemas,
what is exported (only the published offer), identifiers, streaming and the command."""

import datetime
import io
import os

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from lxml import etree

from ofeli.exports import lheo
from ofeli.exports.lheo import NAMESPACES, EmptyOffer, write_offer
from ofeli.exports.management.commands import export_lheo
from ofeli.exports.validation import SCHEMAS, safe_parser, target_namespace, validate_lheo
from ofeli.formations.models import Formation, Session
from ofeli.workflow import services
from tests.exports.builders import full_published_formation, long_text
from tests.factories import (
    DispositifFactory,
    FinanceurFactory,
    StaffFactory,
    StructureFactory,
    StructureStateFactory,
    draft_formation,
    published_formation,
)

pytestmark = pytest.mark.django_db

VERSIONS = ["2.2", "2.3"]


def export(version, **kwargs):
    stream = io.BytesIO()
    stats = write_offer(stream, version, **kwargs)
    return stream.getvalue(), stats


def assert_valid(data, version):
    errors = validate_lheo(io.BytesIO(data), version)
    assert errors == [], "\n".join(errors)


class Doc:
    """The parsed document with namespace-aware shortcuts."""

    def __init__(self, data, version):
        self.root = etree.fromstring(data, safe_parser())
        self.ns = {"l": NAMESPACES[version]}

    def all(self, path, node=None):
        return (node if node is not None else self.root).xpath(path, namespaces=self.ns)

    def text(self, path, node=None):
        return [el.text for el in self.all(path, node)]

    def formation(self, reference):
        (formation,) = self.all(f"//l:formation[@numero='{reference}']")
        return formation

    def formation_numeros(self):
        return {el.get("numero") for el in self.all("//l:formation")}

    def session_numeros(self):
        return {el.get("numero") for el in self.all("//l:session")}


@pytest.fixture
def offer():
    """One minimal published formation and one with every optional part."""
    return published_formation(), full_published_formation()


# --- validity -------------------------------------------------------------------------


def test_h2_lheo_namespaces_are_those_of_the_official_schemas():
    for version in VERSIONS:
        assert NAMESPACES[version] == target_namespace(version)
        assert SCHEMAS[version].exists()


def test_h2_lheo_23_export_is_valid_against_xsd(offer):
    data, stats = export("2.3")
    assert_valid(data, "2.3")
    assert (stats.formations, stats.actions, stats.sessions) == (2, 3, 3)


def test_h2_lheo_22_export_is_valid_against_xsd(offer):
    data, stats = export("2.2")
    assert_valid(data, "2.2")
    assert (stats.formations, stats.actions, stats.sessions) == (2, 3, 3)


@pytest.mark.parametrize("version", VERSIONS)
def test_h2_lheo_export_is_valid_with_fallbacks_for_missing_data(version):
    """Required LHEO elements we may lack (contacts, NDA, places, addresses) get defaults."""
    structure = StructureFactory(nda="")
    formation = published_formation(structure)
    sv = formation.live_version.sessions.get()
    sv.places.all().delete()
    # Impossible through the forms (and a published version is never modified: direct
    # updates stand for data from before the rules); still exportable.
    type(sv).objects.filter(pk=sv.pk).update(date_debut=None, date_fin=None)
    type(formation.live_version).objects.filter(pk=formation.live_version_id).update(objectif="", contenu="")
    data, stats = export(version)
    assert_valid(data, version)
    doc = Doc(data, version)
    assert doc.text("//l:numero-activite") == [lheo.UNKNOWN_NDA]
    assert doc.text("//l:periode/l:debut") == [lheo.UNKNOWN_START]
    assert doc.text("//l:periode/l:fin") == [lheo.UNKNOWN_END]
    assert doc.text("//l:contenu-formation") == [lheo.DEFAULT_CONTENU]
    assert len(doc.all("//l:lieu-de-formation")) == 1  # the trainer's address (F6)
    assert stats.skipped


def test_h2_lheo_validation_reports_errors_and_is_safe(tmp_path):
    assert validate_lheo(io.BytesIO(b"<lheo xmlns='http://lheo.gouv.fr/2.3'><offres/></lheo>"), "2.3")
    assert validate_lheo(io.BytesIO(b"<lheo"), "2.3")
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE lheo [<!ENTITY x SYSTEM "file://{secret}">]>'
        "<lheo xmlns='http://lheo.gouv.fr/2.3'><offres>&x;</offres></lheo>"
    ).encode()
    errors = validate_lheo(io.BytesIO(xxe), "2.3")
    assert errors
    assert "TOP-SECRET" not in "".join(errors)


# --- content ---------------------------------------------------------------------------


def test_h2_lheo_23_full_formation_maps_every_optional_part(offer):
    _, full = offer
    data, stats = export("2.3")
    doc = Doc(data, "2.3")
    f = doc.formation(full.reference)
    sv = full.live_version.sessions.order_by("date_debut").first()
    (action,) = doc.all(f"l:action[@numero='A{sv.session.reference}']", f)
    (session,) = doc.all("l:session", action)
    assert doc.text("l:certification/l:*", f) == ["38234", "94419", "RS5411"]  # H2a: « RS » prefix
    assert doc.text("l:code-niveau-sortie", f) == ["15"]
    assert doc.text("l:domaine-formation/l:code-FORMACODE", f) == ["42854", "42866"]
    assert doc.text("l:domaine-formation/l:code-ROME", f) == ["C1103", "C1105"]
    assert doc.text("l:domaine-formation/l:code-NSF", f) == ["313"]
    assert doc.text("l:parcours-de-formation", f) == ["2"]
    assert doc.text("l:modalites-entrees-sorties", action) == ["1"]  # entrée-sortie permanente
    assert "Session à la demande" in doc.text("l:rythme-formation", action)[0]
    assert doc.text("l:duree-cycle", action) == ["2"]
    assert doc.text("l:modalites-enseignement", action) == ["1"]
    assert len(doc.all("l:lieu-de-formation", action)) == 2
    assert len(doc.all("l:organisme-formateur", action)) == 2
    assert doc.text("l:organisme-formateur/l:code-UAI-formateur/l:code-UAI", action) == ["0451442J", "0370035M"]
    # Archived financing rows are not diffused; 2.3 knows financeur 19.
    assert doc.text("l:organisme-financeur/l:code-financeur", action) == ["5", "2", "19"]
    assert doc.text("l:organisme-financeur/l:nb-places-financees", action) == ["12", "8", "2"]
    assert doc.text("l:equipement/l:type-equipement", action) == ["11", "10"]
    assert doc.text("l:equipement/l:cout-indicatif-equipement", action) == ["150"]
    assert doc.text("l:date-information/l:date", action) == ["20260512"]
    assert doc.text("l:periode/l:*", session) == ["20260101", "20261231"]
    assert doc.text("l:periode-inscription/l:periode/l:*", session) == ["20260301", "20260831"]
    # Open financement, unless the registration period is over (H2a, P1: then « fermé »).
    closed = datetime.date(2026, 8, 31) < timezone.localdate()
    assert doc.text("l:etat-recrutement", session) == ["2" if closed else "1"]
    assert sorted(doc.text("l:recrutement/l:modalite-recrutement", session)) == ["7", "8", "9"]
    assert doc.text("l:recrutement[l:modalite-recrutement='9']/l:heure-debut", session) == ["09h30"]  # H2a
    assert doc.text("l:contact-session/l:type-contact", session) == ["3", "14"]
    assert len(doc.all("l:blocs-competences/l:bloc-competences", session)) == 3
    assert doc.text("l:blocs-competences/l:validation-blocs", session) == ["1"]
    assert doc.text("l:cycle/l:annee-cycle", session) == ["1", "2"]
    assert doc.text("l:organisme-formation-responsable/l:code-UAI-organisme-formation/l:code-UAI", f) == ["0451442J"]
    # Contacts not diffused on the web never leave the platform.
    assert b"Confidentiel" not in data
    assert stats.truncated["conditions-specifiques"] == 1


def test_h2_lheo_22_writes_only_what_22_has(offer):
    _, full = offer
    data, _ = export("2.2")
    doc = Doc(data, "2.2")
    f = doc.formation(full.reference)
    sv = full.live_version.sessions.order_by("date_debut").first()
    (action,) = doc.all(f"l:action[@numero='A{sv.session.reference}']", f)
    assert doc.text("l:certification/l:*", f) == ["38234", "94419"]  # no code-RS in 2.2
    assert doc.text("l:code-niveau-sortie", f) == ["6"]  # Niveau 5 (2019) = niveau III
    assert len(doc.all("l:contact-formation", f)) == 1
    assert len(doc.all("l:lieu-de-formation", action)) == 1
    assert len(doc.all("l:organisme-formateur", action)) == 1
    assert doc.text("l:organisme-financeur/l:code-financeur", action) == ["5", "2", "13"]
    for absent in ("recrutement", "contact-session", "blocs-competences", "cycle", "equipement", "duree-cycle"):
        assert not doc.all(f"//l:{absent}"), absent
    assert not doc.all("//l:type-contact") and not doc.all("//l:denomination")


@pytest.mark.parametrize("version", VERSIONS)
def test_h2_lheo_numero_attributes_are_our_references(offer, version):
    data, _ = export(version)
    doc = Doc(data, version)
    formations = Formation.objects.filter(pk__in=[f.pk for f in offer])
    assert doc.formation_numeros() == {f.reference for f in formations}
    sessions = Session.objects.filter(formation__in=formations)
    assert doc.session_numeros() == {s.reference for s in sessions}
    assert {a.get("numero") for a in doc.all("//l:action")} == {f"A{s.reference}" for s in sessions}
    for f in offer:
        (resp,) = doc.all("l:organisme-formation-responsable", doc.formation(f.reference))
        assert resp.get("numero") == f.structure.reference
        assert doc.text("l:SIRET-organisme-formation/l:SIRET", resp) == [f.structure.siret]
        assert doc.text("l:numero-activite", resp) == [f.structure.nda]


@pytest.mark.parametrize("version", VERSIONS)
def test_h2_lheo_exports_only_the_published_offer(version):
    staff = StaffFactory()
    kept = published_formation(intitule="Formation publiée", sessions=2)
    never_published = draft_formation(intitule="Formation jamais publiée").formation
    submitted = draft_formation(intitule="Formation en attente de validation")
    services.submit(submitted, submitted.created_by)
    archived = published_formation(intitule="Formation archivée")
    services.set_formation_archived(archived, staff, True)
    archived_session = kept.live_version.sessions.order_by("date_debut").last().session
    services.set_session_archived(archived_session, staff, True)
    hidden_structure = StructureFactory(etat=StructureStateFactory(code="BRO", libelle="Brouillon", is_diffused=False))
    not_diffused = published_formation(hidden_structure, intitule="Organisme non diffusé")
    # A published formation with a pending change exports the published content.
    changed = published_formation(intitule="Intitulé publié")
    published_ref = changed.live_version.sessions.get().session.reference
    change = services.start_formation_change(changed, changed.change_requests.first().created_by)
    draft = change.formation_version
    draft.intitule = "Intitulé en brouillon"
    draft.save()
    draft_sv = draft.sessions.get()
    draft_sv.prerequis = "Prérequis du brouillon"
    draft_sv.save()
    new_sv = services.add_session(
        change,
        change.created_by,
        date_debut=datetime.date(2027, 1, 4),
        date_fin=datetime.date(2027, 3, 31),
        duree_centre=100,
    )
    new_sv.financements.create(dispositif=DispositifFactory(), financeur=FinanceurFactory())
    new_sv.recruitment_slots.create(modalite="7", structure=changed.structure)
    services.submit(change, change.created_by)

    data, stats = export(version)
    assert_valid(data, version)
    doc = Doc(data, version)
    assert doc.formation_numeros() == {kept.reference, changed.reference}
    for absent in (never_published, submitted.formation, archived, not_diffused):
        assert absent.reference.encode() not in data
    assert archived_session.reference not in doc.session_numeros()
    assert new_sv.session.reference not in doc.session_numeros()
    assert published_ref in doc.session_numeros()
    assert doc.text("l:intitule-formation", doc.formation(changed.reference)) == ["Intitulé publié"]
    assert b"brouillon" not in data
    assert (stats.formations, stats.sessions) == (2, 2)


def test_h2_lheo_formation_left_without_sessions_is_skipped():
    staff = StaffFactory()
    empty = published_formation()
    services.set_session_archived(empty.live_version.sessions.get().session, staff, True)
    kept = published_formation()
    data, stats = export("2.3")
    assert_valid(data, "2.3")
    assert Doc(data, "2.3").formation_numeros() == {kept.reference}
    assert stats.formations == 1
    assert not stats.skipped  # left out by the query, not reported as a problem


@pytest.mark.parametrize("version", VERSIONS)
def test_h2_lheo_long_texts_are_cut_at_a_word_boundary_and_counted(offer, version):
    _, full = offer
    data, stats = export(version)
    assert_valid(data, version)
    doc = Doc(data, version)
    f = doc.formation(full.reference)
    (cut,) = doc.text("l:action/l:conditions-specifiques[contains(., 'bureautique')]", f)
    assert len(cut) <= 3000 and cut.endswith("…")
    original = long_text(3500)
    kept = cut[:-1]
    assert original.startswith(kept)
    assert original[len(kept)] in " .", "cut in the middle of a word"
    assert stats.truncated == {
        "conditions-specifiques": 1,
        "info-public-vise": 1,
        "restauration": 1,
        "detail-conditions-prise-en-charge": 1,
    }
    assert stats.truncated_total == 4


def test_h2_lheo_fit_never_cuts_a_word():
    writer = lheo.LheoWriter("2.3")
    assert writer.fit("  court \x07 ", 10, "x") == "court"
    assert writer.fit("un deux trois quatre", 12, "x") == "un deux…"
    assert writer.fit("un deux trois", 8, "x") == "un deux…"
    assert writer.fit("anticonstitutionnellement", 10, "x") == "anticonst…"  # last resort
    assert writer.stats.truncated["x"] == 3


# --- selection, delta, chunks ------------------------------------------------------------


def test_h2_lheo_since_keeps_formations_published_since(offer):
    minimal, full = offer
    Formation.objects.filter(pk=minimal.pk).update(published_at=timezone.now() - datetime.timedelta(days=3))
    data, stats = export("2.3", since=timezone.now() - datetime.timedelta(days=1))
    assert_valid(data, "2.3")
    assert Doc(data, "2.3").formation_numeros() == {full.reference}
    with pytest.raises(EmptyOffer):
        export("2.3", since=timezone.now() + datetime.timedelta(days=1))


def test_d5_lheo_export_of_a_selection(offer):
    minimal, full = offer
    data, _ = export("2.3", formations=Formation.objects.filter(pk=minimal.pk))
    assert Doc(data, "2.3").formation_numeros() == {minimal.reference}
    one = full.live_version.sessions.order_by("date_debut").last().session
    data, stats = export("2.3", sessions=Session.objects.filter(pk=one.pk))
    assert_valid(data, "2.3")
    assert Doc(data, "2.3").session_numeros() == {one.reference}
    assert (stats.formations, stats.sessions) == (1, 1)
    assert not stats.skipped


@pytest.mark.parametrize("version", VERSIONS)
def test_h2_lheo_chunks_give_the_same_document_and_are_flushed(offer, version):
    published_formation()
    whole, _ = export(version)

    class Recorder(io.BytesIO):
        writes = 0

        def write(self, data):
            Recorder.writes += 1
            return super().write(data)

    stream = Recorder()
    stats = write_offer(stream, version, chunk_size=1)
    assert stream.getvalue() == whole
    assert stats.formations == 3
    assert Recorder.writes >= 3  # written formation by formation, not at the end


def _export_queries(version):
    with CaptureQueriesContext(connection) as ctx:
        export(version)
    return len(ctx.captured_queries)


@pytest.mark.parametrize("version", VERSIONS)
def test_h2_lheo_query_count_does_not_grow_with_formations(version):
    full_published_formation()
    for _ in range(2):
        published_formation(sessions=2)
    few = _export_queries(version)
    for _ in range(27):
        published_formation(sessions=2)
    assert Formation.objects.filter(live_version__isnull=False).count() == 30
    assert _export_queries(version) == few
    # 9 (2.2) / 11 (2.3) reading queries per chunk, the organismes' labels (H2a), and the
    # modification stamps: one read, one upsert of what changed (H2a).
    assert few <= 14


def test_h2_lheo_write_offer_to_a_path_is_atomic(offer, tmp_path, monkeypatch):
    target = tmp_path / "offre.xml"
    write_offer(target, "2.2")
    assert validate_lheo(str(target), "2.2") == []
    previous = target.read_bytes()
    original = lheo.LheoWriter.formation
    calls = []

    def crash_on_second(self, formation):
        calls.append(formation)
        if len(calls) == 2:
            raise RuntimeError("database gone")
        return original(self, formation)

    monkeypatch.setattr(lheo.LheoWriter, "formation", crash_on_second)
    with pytest.raises(RuntimeError):
        write_offer(target, "2.3", chunk_size=1)
    assert target.read_bytes() == previous
    assert os.listdir(tmp_path) == ["offre.xml"]


def test_h2_lheo_empty_offer_writes_nothing(tmp_path):
    draft_formation()
    target = tmp_path / "offre.xml"
    with pytest.raises(EmptyOffer):
        write_offer(target, "2.3")
    assert not target.exists()


def test_h2_lheo_unknown_version_is_refused():
    with pytest.raises(ValueError):
        lheo.LheoWriter("2.1")


# --- command -------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_h2_export_lheo_command_writes_a_valid_file_and_prints_counts(offer, tmp_path, version):
    target = tmp_path / f"offre-{version}.xml"
    out, err = io.StringIO(), io.StringIO()
    call_command("export_lheo", "--lheo-version", version, "--output", str(target), stdout=out, stderr=err)
    assert validate_lheo(str(target), version) == []
    assert "2 formations, 3 actions, 3 sessions" in out.getvalue()
    assert "conditions-specifiques : 1" in err.getvalue()
    assert os.listdir(tmp_path) == [target.name]  # no temporary file left


def test_h2_export_lheo_command_since(offer, tmp_path):
    minimal, full = offer
    Formation.objects.filter(pk=minimal.pk).update(published_at=timezone.now() - datetime.timedelta(days=3))
    target = tmp_path / "delta.xml"
    since = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    out = io.StringIO()
    call_command("export_lheo", "--output", str(target), "--since", since, stdout=out, stderr=io.StringIO())
    assert "1 formations" in out.getvalue()
    assert Doc(target.read_bytes(), "2.3").formation_numeros() == {full.reference}
    with pytest.raises(CommandError):
        call_command("export_lheo", "--output", str(target), "--since", "hier")


def test_h2_export_lheo_command_invalid_output_fails_and_keeps_the_previous_file(offer, tmp_path, monkeypatch):
    target = tmp_path / "offre.xml"
    target.write_bytes(b"previous flow")

    def invalid(stream, version, **kwargs):
        stream.write(f"<lheo xmlns='{NAMESPACES[version]}'><offres/></lheo>".encode())
        return lheo.ExportStats(version)

    monkeypatch.setattr(export_lheo, "write_offer", invalid)
    with pytest.raises(CommandError) as excinfo:
        call_command("export_lheo", "--lheo-version", "2.3", "--output", str(target), stdout=io.StringIO())
    assert excinfo.value.returncode == 1
    assert "pas valide" in str(excinfo.value)
    assert target.read_bytes() == b"previous flow"
    assert os.listdir(tmp_path) == ["offre.xml"]


def test_h2_export_lheo_command_crash_while_writing_keeps_the_previous_file(offer, tmp_path, monkeypatch):
    target = tmp_path / "offre.xml"
    target.write_bytes(b"previous flow")
    original = lheo.LheoWriter.formation
    calls = []

    def crash_on_second(self, formation):
        calls.append(formation)
        if len(calls) == 2:
            raise RuntimeError("database gone")
        return original(self, formation)

    monkeypatch.setattr(lheo.LheoWriter, "formation", crash_on_second)
    with pytest.raises(RuntimeError):
        call_command("export_lheo", "--output", str(target), "--chunk-size", "1", stdout=io.StringIO())
    assert target.read_bytes() == b"previous flow"
    assert os.listdir(tmp_path) == ["offre.xml"]


def test_h2_export_lheo_command_empty_offer_is_an_error_without_file(tmp_path):
    target = tmp_path / "offre.xml"
    with pytest.raises(CommandError) as excinfo:
        call_command("export_lheo", "--output", str(target))
    assert excinfo.value.returncode == export_lheo.EXIT_EMPTY
    assert os.listdir(tmp_path) == []
