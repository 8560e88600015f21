"""LHEO and partner readiness while editing (Q3), and the certification watch on the formation
and session pages (Q1)."""

import datetime
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape
from lxml import etree

from ofeli.exports.lheo import NAMESPACES, write_offer
from ofeli.exports.validation import validate_lheo
from ofeli.formations import models as fm
from ofeli.formations.enums import FinancementEtat
from ofeli.quality.readiness import BLOCKING, DOWNGRADE, NS, PARTNER, readiness
from ofeli.quality.watch import watch
from ofeli.referentials.enums import CertificationState
from ofeli.referentials.models import StructureState
from ofeli.structures.models import Lieu
from ofeli.workflow.models import DraftRevision
from tests.exports.builders import long_text, publish
from tests.factories import (
    CertificationFactory,
    ContactFactory,
    DispositifFactory,
    FinanceurFactory,
    MembershipFactory,
    StaffFactory,
    StructureFactory,
    draft_formation,
)

pytestmark = pytest.mark.django_db


def complete_draft(**fields):
    """A draft whose session has everything the partners need: a CPF and an AIF financement
    with places on a certifying formation, a place with its INSEE code, a reachable contact."""
    cert = CertificationFactory(code_certifinfo="94419", code_rncp="38234", code_rs="")
    change = draft_formation(certification=cert, resultats_attendus="Titre professionnel.", **fields)
    sv = change.formation_version.sessions.get()
    fm.SessionVersion.objects.filter(pk=sv.pk).update(prerequis="Niveau 3e.", rythme="1")
    cpf = DispositifFactory(code="CPF01", libelle="Compte personnel de formation (CPF)")
    fm.Financement.objects.create(session_version=sv, dispositif=cpf, financeur=FinanceurFactory(), nb_places=4)
    contact = ContactFactory(structure=change.formation.structure, nom="Martin", email="inscriptions@example.org")
    fm.SessionContact.objects.create(session_version=sv, contact=contact, type_contact="3", is_principal=True)
    return change, fm.SessionVersion.objects.get(pk=sv.pk)


def session_url(change, sv, suffix=""):
    return f"/ofeli/formations/{change.formation.reference}/sessions/{sv.session.reference}/{suffix}"


def panel_url(change, sv=None):
    if sv is None:
        return f"/ofeli/qualite/formations/{change.formation.reference}/preparation/"
    return f"/ofeli/qualite/formations/{change.formation.reference}/sessions/{sv.session.reference}/preparation/"


def messages(result, reference, level=None):
    return [i.message for i in result.issues_of(reference) if level is None or i.level == level]


def exported_formation(formation):
    stream = io.BytesIO()
    write_offer(stream, "2.3", formations=[formation], prefetch=False)
    data = stream.getvalue()
    assert validate_lheo(io.BytesIO(data), "2.3") == []
    root = etree.fromstring(data)
    return root.find(f"{{{NAMESPACES['2.3']}}}offres/{{{NAMESPACES['2.3']}}}formation")


def test_q3_a_session_the_panel_calls_ready_exports_xsd_valid_with_every_checked_element(client):
    change, sv = complete_draft()
    ref = sv.session.reference
    result = readiness(change.formation_version)
    assert result.ready(ref), messages(result, ref)
    assert result.schema_errors == []
    checked = set(result.checked)
    # every France Travail check found its element: financeur, places of the AIF, CPF code, INSEE, contact
    assert any("code-financeur" in path and "nb-places" not in path for path in checked)
    assert any("nb-places-financees" in path for path in checked)
    assert any("code-RNCP" in path for path in checked)
    assert any("code-INSEE-commune" in path for path in checked)
    assert any("contact-session" in path for path in checked)
    # the OF sees « Prête » on the session page
    client.force_login(change.created_by)
    html = client.get(session_url(change, sv)).content.decode()
    assert 'data-ready="oui"' in html and "Prête" in html
    # once validated, the export of the flows is XSD-valid and holds each element the panel checked
    formation = publish(change)
    exported = exported_formation(formation)
    for path in result.checked:
        assert exported.xpath(path, namespaces=NS), path


def test_q3_ready_formation_agrees_with_the_export_element_by_element():
    """The panel's <formation> is the export's: same elements (stamps aside)."""
    change, sv = complete_draft()
    result = readiness(change.formation_version)
    formation = publish(change)
    exported = exported_formation(formation)

    def shape(element):
        return [el.tag for el in element.iter() if isinstance(el.tag, str)]

    assert shape(result.element) == shape(exported)


def _no_financement(sv):
    fm.Financement.objects.filter(session_version=sv).update(etat=FinancementEtat.ATTENTE)


def _aif_without_places(sv):
    # LHEO sums the places per financeur code: the CPF row (same financeur) must have none either
    fm.Financement.objects.filter(session_version=sv).update(nb_places=None)


def _cpf_without_certification(sv):
    fm.FormationVersion.objects.filter(pk=sv.formation_version_id).update(certification=None)


def _place_without_insee(sv):
    Lieu.objects.filter(pk__in=sv.places.values("lieu_id")).update(code_insee="")


def _no_reachable_contact(sv):
    fm.SessionContact.objects.filter(session_version=sv).delete()
    structure = sv.formation_version.formation.structure
    structure.contacts.update(diffusion_web=False)


def _trainer_without_siret(sv):
    other = StructureFactory()
    type(other).objects.filter(pk=other.pk).update(siret="123")
    sv.trainers.update(structure=other)


def _responsable_without_siret(sv):
    structure = sv.formation_version.formation.structure
    type(structure).objects.filter(pk=structure.pk).update(siret="")


def _structure_not_diffused(sv):
    structure = sv.formation_version.formation.structure
    hidden, _ = StructureState.objects.get_or_create(
        code="NDI", defaults={"libelle": "Non diffusée", "is_diffused": False}
    )
    type(structure).objects.filter(pk=structure.pk).update(etat=hidden)


def _session_archived(sv):
    fm.Session.objects.filter(pk=sv.session_id).update(archived_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))


DEFECTS = [
    (_no_financement, PARTNER, "Aucun financement diffusé", "organisme-financeur"),
    (_aif_without_places, PARTNER, "sans nombre de places", "nb-places-financees"),
    (_cpf_without_certification, PARTNER, "Financement CPF sans code RNCP ni RS", "certification"),
    (_place_without_insee, PARTNER, "sans code INSEE de commune", "code-INSEE-commune"),
    (_no_reachable_contact, PARTNER, "Aucun contact joignable", "contact-session"),
    (_trainer_without_siret, PARTNER, "organisme formateur sans SIRET", ""),
    (_responsable_without_siret, BLOCKING, "organisme responsable sans SIRET : formation non exportée", ""),
    (_structure_not_diffused, BLOCKING, "son offre n'est pas diffusée", ""),
    (_session_archived, BLOCKING, "Session archivée", ""),
]


@pytest.mark.parametrize(("defect", "level", "message", "element"), DEFECTS, ids=[d[0].__name__ for d in DEFECTS])
def test_q3_each_defect_shows_its_message(client, defect, level, message, element):
    change, sv = complete_draft()
    ref = sv.session.reference
    defect(sv)
    result = readiness(change.formation_version)
    assert not result.ready(ref)
    assert any(message in m for m in messages(result, ref, level)), messages(result, ref)
    if element:
        assert not any(element in path for path in result.checked if message != "Aucun contact joignable")
    # shown to the OF on its session page and on the formation page, and to Carif staff
    client.force_login(change.created_by)
    for url in (session_url(change, sv), f"/ofeli/formations/{change.formation.reference}/"):
        html = client.get(url).content.decode()
        assert escape(message) in html and 'data-ready="non"' in html, url
    client.force_login(StaffFactory())
    assert escape(message) in client.get(session_url(change, sv)).content.decode()


def test_q3_defaults_for_required_elements_are_announced():
    change = draft_formation()
    fm.FormationVersion.objects.filter(pk=change.formation_version_id).update(contenu="")
    sv = change.formation_version.sessions.get()
    result = readiness(change.formation_version)
    ref = sv.session.reference
    downgraded = messages(result, ref, DOWNGRADE)
    assert any(m.startswith("Contenu non renseigné") and "Contenu détaillé disponible" in m for m in downgraded)
    assert any(m.startswith("Rythme non renseigné") for m in downgraded)
    assert any(m.startswith("Pré-requis non renseignés") and "« Aucune. »" in m for m in downgraded)


def test_q3_texts_longer_than_the_limit_are_announced_as_cut(client):
    change, sv = complete_draft()
    prerequis = long_text(3000)
    fm.SessionVersion.objects.filter(pk=sv.pk).update(prerequis=prerequis, commentaire_inscription=long_text(255))
    fm.FormationVersion.objects.filter(pk=change.formation_version_id).update(objectif=long_text(3000))
    result = readiness(change.formation_version)
    ref = sv.session.reference
    cut = {i.element: i for i in result.issues_of(ref) if "sera coupé" in i.message}
    assert set(cut) >= {"conditions-specifiques", "modalites-inscription", "objectif-formation"}
    assert (
        f"« Pré-requis » : {len(prerequis):,} caractères".replace(",", "\u202f")
        in cut["conditions-specifiques"].message
    )
    assert "LHEO en accepte 3\u202f000" in cut["conditions-specifiques"].message
    assert "LHEO en accepte 255" in cut["modalites-inscription"].message
    assert cut["objectif-formation"].scope is None and cut["conditions-specifiques"].scope == ref
    assert result.ready(ref)  # cut texts are sent, downgraded
    client.force_login(change.created_by)
    html = client.get(session_url(change, sv)).content.decode()
    assert escape("le texte sera coupé à l'envoi") in html
    # (the formation's objectif is refused over 3,000 characters at submission: back within it)
    fm.FormationVersion.objects.filter(pk=change.formation_version_id).update(objectif="Tenir la comptabilité.")
    # the export cuts them to the same limits
    exported = exported_formation(publish(change))
    text = exported.xpath(f"l:action[@numero='A{ref}']/l:conditions-specifiques/text()", namespaces=NS)[0]
    assert len(text) <= 3000 and text.endswith("…")


def test_q3_the_panel_follows_what_is_typed_and_never_saves(client):
    change, sv = complete_draft()
    client.force_login(change.created_by)
    revisions = DraftRevision.objects.count()
    posted = {
        "s-date_debut": "2026-09-01",
        "s-date_fin": "2027-06-30",
        "s-kind": sv.kind,
        "s-modalite_enseignement": sv.modalite_enseignement,
        "s-prerequis": long_text(3000),
        "s-rythme": "1",
        "s-duree_centre": "400",
        "s-duree_entreprise": "200",
    }
    response = client.post(panel_url(change, sv), posted)
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
    html = response.content.decode()
    assert "« Pré-requis »" in html and "sera coupé" in html
    assert 'hx-post="' in html and 'data-readiness-form="session-form"' in html
    sv.refresh_from_db()
    assert sv.prerequis == "Niveau 3e."  # nothing saved
    assert DraftRevision.objects.count() == revisions
    # the formation page's panel follows the formation form the same way
    typed = {"f-intitule": change.formation_version.intitule, "f-niveau_entree": "", "f-contenu": "Écritures."}
    html = client.post(panel_url(change), typed).content.decode()
    assert escape("Niveau d'entrée non renseigné") in html
    change.formation_version.refresh_from_db()
    assert change.formation_version.niveau_entree == "1"
    # GET: from the saved draft
    assert "sera coupé" not in client.get(panel_url(change, sv)).content.decode()


def test_q3_only_users_with_rights_on_the_structure_and_staff_fetch_the_panel(client):
    change, sv = complete_draft()
    intruder = MembershipFactory(structure=StructureFactory()).user
    client.force_login(intruder)
    for url in (panel_url(change, sv), panel_url(change)):
        assert client.get(url).status_code == 403
        assert client.post(url, {"s-prerequis": "x"}).status_code == 403
    assert client.get(
        f"/ofeli/qualite/formations/{change.formation.reference}/sessions/999999S/preparation/"
    ).status_code in (
        403,
        404,
    )
    assert client.get("/ofeli/qualite/formations/0000000X/preparation/").status_code == 404
    client.logout()
    assert client.get(panel_url(change, sv)).status_code == 302  # to the login page
    client.force_login(StaffFactory())
    assert client.get(panel_url(change, sv)).status_code == 200
    client.force_login(change.created_by)
    own = client.get(panel_url(change, sv))
    assert own.status_code == 200 and 'id="readiness"' in own.content.decode()
    assert client.put(panel_url(change, sv)).status_code == 405


def test_q3_readiness_reads_a_fixed_number_of_queries_whatever_the_sessions():
    def count(sessions):
        change = draft_formation(sessions=sessions)
        version = change.formation_version
        with CaptureQueriesContext(connection) as queries:
            readiness(version)
        return len(queries)

    assert count(1) == count(4)


# --- Q1 on the session and formation pages ---------------------------------------------------


def test_q1_session_and_formation_pages_show_the_certification_flag_and_the_successor(client):
    old = CertificationFactory(
        code_certifinfo="2001",
        code_rncp="31677",
        intitule="Gestionnaire comptable (ancienne fiche)",
        etat=CertificationState.INACTIVE,
        date_fin_enregistrement=datetime.date(2026, 12, 1),
    )
    new = CertificationFactory(code_certifinfo="2002", code_rncp="37949", intitule="Gestionnaire comptable et fiscal")
    old.replaced_by = new
    old.save()
    formation = publish(draft_formation(certification=old))
    watch()
    session = formation.sessions.get()
    user = formation.structure.memberships.first().user
    client.force_login(user)
    page = client.get(f"/ofeli/formations/{formation.reference}/sessions/{session.reference}/").content.decode()
    assert "Certification à vérifier : RNCP31677" in page
    assert "Certification inactive" in page and "Inactives" in page and "01/12/2026" in page
    assert "Remplacer par RNCP37949" in page
    assert f'action="/ofeli/qualite/formations/{formation.reference}/remplacer-certification/"' in page
    detail = client.get(f"/ofeli/formations/{formation.reference}/").content.decode()
    assert "Certification à vérifier : RNCP31677" in detail and session.reference in detail
    # in the readiness panel too, computed from the version itself
    result = readiness(formation.live_version)
    assert result.certification["successor_label"] == "RNCP37949"
    assert session.reference in result.certification["sessions"]
    assert not result.ready(session.reference)
    assert any(
        m.startswith("Certification RNCP31677 à vérifier : certification inactive") and "RNCP37949" in m
        for m in messages(result, session.reference, PARTNER)
    )
    # the one click opens the change request; the draft's panel then says it is replaced
    assert client.post(f"/ofeli/qualite/formations/{formation.reference}/remplacer-certification/").status_code == 302
    page = client.get(f"/ofeli/formations/{formation.reference}/sessions/{session.reference}/").content.decode()
    assert "La demande de modification en cours change déjà la certification" in page
    assert "Remplacer par RNCP37949" not in page
    # another structure's user sees neither the page nor the alert
    client.force_login(MembershipFactory(structure=StructureFactory()).user)
    assert client.get(f"/ofeli/formations/{formation.reference}/sessions/{session.reference}/").status_code == 403


def test_q1_no_alert_without_an_open_flag(client):
    formation = publish(draft_formation(certification=CertificationFactory(code_certifinfo="2003", code_rncp="1234")))
    watch()
    client.force_login(formation.structure.memberships.first().user)
    page = client.get(f"/ofeli/formations/{formation.reference}/sessions/{formation.sessions.get().reference}/")
    assert "Certification à vérifier" not in page.content.decode()
