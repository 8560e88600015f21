"""LHEO fidelity of the export (H2a): every element means what its LHEO definition says —
codes with their prefix and referential version, durations as delays, hours as « 10h00 »,
what LHEO has no element for in extras, addresses with their country and region, a
modification stamp that follows any change of the content, and a decided set of ended
sessions — always valid against the 2.2 and 2.3 schemas."""

import datetime
import io

import pytest
from django.utils import timezone
from lxml import etree

from ofeli.exports import lheo
from ofeli.exports.lheo import write_offer
from ofeli.exports.validation import safe_parser, validate_lheo
from ofeli.formations import models as fm
from ofeli.referentials import formacode
from ofeli.referentials.enums import LabelKind
from ofeli.referentials.models import Label
from ofeli.structures.models import Lieu, Structure
from tests.exports.builders import full_published_formation, publish
from tests.factories import (
    CertificationFactory,
    ContactFactory,
    DispositifFactory,
    FinanceurFactory,
    LieuFactory,
    StructureFactory,
    draft_formation,
    published_formation,
)

pytestmark = pytest.mark.django_db
VERSIONS = ["2.2", "2.3"]


class Doc:
    def __init__(self, data, version):
        self.version = version
        self.ns = {"l": lheo.NAMESPACES[version]}
        self.root = etree.fromstring(data, safe_parser())

    def all(self, path, node=None):
        return (node if node is not None else self.root).xpath(path, namespaces=self.ns)

    def text(self, path, node=None):
        return [el.text for el in self.all(path, node)]

    def formation(self, reference):
        return self.all(f"//l:formation[@numero='{reference}']")[0]

    def action(self, session_reference):
        return self.all(f"//l:action[l:session/@numero='{session_reference}']")[0]


def export(version, **kwargs):
    stream = io.BytesIO()
    write_offer(stream, version, prefetch=False, **kwargs)
    data = stream.getvalue()
    assert validate_lheo(io.BytesIO(data), version) == []  # H2a: always valid
    return Doc(data, version)


def first_session(formation):
    return formation.live_version.sessions.order_by("date_debut").first()


def test_h2a_rs_codes_carry_the_rs_prefix_in_certification_and_blocs():
    formation = full_published_formation()  # code_rs « RS5411 »
    bare = CertificationFactory(code_certifinfo="11111", code_rncp="", code_rs="5629")
    other = published_formation(certification=bare)
    doc = export("2.3")
    assert doc.text("l:certification/l:code-RS", doc.formation(formation.reference)) == ["RS5411"]
    assert doc.text("l:certification/l:code-RS", doc.formation(other.reference)) == ["RS5629"]
    refs = doc.text("//l:blocs-competences/l:reference-certification/l:reference-code-RS")
    assert refs and set(refs) == {"RS5411"}
    # RNCP and Certifinfo codes are digits, as their definitions say.
    assert doc.text("l:certification/l:code-RNCP", doc.formation(formation.reference)) == ["38234"]
    assert lheo._rs(" rs 5629 ") == "RS5629" and lheo._rs("") == ""


@pytest.mark.parametrize("version", VERSIONS)
def test_h2a_duree_indicative_is_a_delay_hours_in_hour_elements_weekly_in_the_rythme(version):
    formation = published_formation()
    sv = first_session(formation)
    fm.SessionVersion.objects.filter(pk=sv.pk).update(
        date_debut=datetime.date(2026, 9, 7),
        date_fin=datetime.date(2027, 3, 5),
        duree_hebdomadaire=35,
        commentaire_duree="Hors périodes d'examen.",
        duree_totale=900,
    )
    cycle = full_published_formation()  # duree_cycle = 2 years
    doc = export(version)
    action = doc.action(sv.session.reference)
    assert doc.text("l:duree-indicative", action) == ["6 mois"]
    assert doc.text("l:nombre-heures-total", action) == ["900"]
    rythme = doc.text("l:rythme-formation", action)[0]
    assert "35 heures par semaine." in rythme and "Hors périodes d'examen." in rythme
    assert not any("heure" in text for text in doc.text("//l:duree-indicative"))
    assert set(doc.text("l:action/l:duree-indicative", doc.formation(cycle.reference))) == {"2 ans"}
    assert [lheo._delay(d) for d in (1, 10, 30, 120, 365, 500, 730)] == [
        "1 jour",
        "10 jours",
        "4 semaines",
        "4 mois",
        "1 an",
        "16 mois",
        "2 ans",
    ]


@pytest.mark.parametrize("version", VERSIONS)
def test_h2a_public_vise_comes_from_the_dispositifs_with_the_formacode_version(version):
    change = draft_formation(formacodes="42854")
    region = FinanceurFactory(code="98010", libelle="Conseil régional", lheo_code="2")
    fm.Financement.objects.create(
        session_version=change.formation_version.sessions.get(),
        financeur=region,
        nb_places=10,
        dispositif=DispositifFactory(code="PRF01", financeur=region, publics_vises="80006 82045"),
    )
    job_seekers = publish(change)
    sv = first_session(job_seekers)
    nothing_said = published_formation()  # its dispositif names no public
    doc = export(version)
    action = doc.action(sv.session.reference)
    assert doc.text("l:code-public-vise", action) == ["80006", "82045"]
    assert {el.get("ref") for el in doc.all("//l:code-public-vise")} == {formacode.version()}
    other = doc.action(first_session(nothing_said).session.reference)
    assert doc.text("l:code-public-vise", other) == ["83056"]  # « Tout public »: no restriction
    assert formacode.publics()["83056"] == "Tout public" and formacode.publics()["80006"] == "Demandeur d'emploi"
    formacodes = doc.all("//l:domaine-formation/l:code-FORMACODE")
    assert formacodes and {el.get("ref") for el in formacodes} == {formacode.version()}


def test_h2a_public_vise_of_the_shipped_dispositifs():
    from django.core.management import call_command

    call_command("load_referentials", stdout=io.StringIO())
    from ofeli.referentials.models import Dispositif

    publics = dict(Dispositif.objects.values_list("code", "publics_vises"))
    assert publics["AFC01"] == "80006" and publics["AOP02"] == "82027" and publics["AOP03"] == "82029"
    known = formacode.publics()
    assert all(code in known for value in publics.values() for code in value.split())


def test_h2a_recruitment_slot_hours_are_written_10h00():
    formation = published_formation()
    sv = first_session(formation)
    fm.RecruitmentSlot.objects.filter(session_version=sv).update(
        date=datetime.date(2026, 6, 2), heure_debut=datetime.time(10), heure_fin=datetime.time(12, 30)
    )
    doc = export("2.3")
    session = doc.all(f"//l:session[@numero='{sv.session.reference}']")[0]
    assert doc.text("l:recrutement/l:heure-debut", session) == ["10h00"]
    assert doc.text("l:recrutement/l:heure-fin", session) == ["12h30"]
    action = doc.action(sv.session.reference)
    assert "de 10h00 à 12h30" in doc.text("l:modalites-recrutement", action)[0]


@pytest.mark.parametrize("version", VERSIONS)
def test_h2a_extras_contact_inscription_financements_and_labels(version):
    formation = full_published_formation()
    structure = formation.structure
    qualiopi = Label.objects.create(kind=LabelKind.QUALITE, code="95", libelle="Qualiopi")
    structure.live_version.labels.add(qualiopi)
    sv = first_session(formation)
    doc = export(version)
    session = doc.all(f"//l:session[@numero='{sv.session.reference}']")[0]
    contact = doc.all("l:extras[@info='session']/l:extra[@info='contact-inscription']", session)
    assert len(contact) == 1 and contact[0].get("numero") == sv.contact_inscription.reference
    assert doc.text("l:coordonnees/l:nom", contact[0]) == [sv.contact_inscription.nom]
    action = doc.action(sv.session.reference)
    financements = doc.all("l:extras[@info='financements']/l:extras[@info='financement']", action)
    dispositifs = [doc.all("l:extra[@info='dispositif']", one)[0].get("numero") for one in financements]
    assert dispositifs == ["CPR02", "PRF", "OFII"]  # the diffused ones: the archived OPCO row stays out
    region = financements[1]
    assert doc.text("l:extra[@info='numero-marche']", region) == ["2025-PRF-12"]
    assert doc.text("l:extra[@info='code-financeur']", region) == ["2"]
    assert doc.text("l:extra[@info='financeur']", region) == ["Conseil régional"]
    responsable = doc.all("//l:organisme-formation-responsable")[0]
    labels = doc.all("l:extras[@info='labels']/l:extra[@info='label']", responsable)
    assert [(e.get("numero"), e.get("ref"), e.text) for e in labels] == [("95", "qualite", "Qualiopi")]


def test_h2a_contact_inscription_without_diffusion_web_never_leaves():
    formation = published_formation()
    sv = first_session(formation)
    hidden = ContactFactory(structure=formation.structure, nom="Confidentiel", diffusion_web=False)
    fm.SessionVersion.objects.filter(pk=sv.pk).update(contact_inscription=hidden)
    doc = export("2.3")
    assert not doc.all("//l:extra[@info='contact-inscription']")
    assert b"Confidentiel" not in etree.tostring(doc.root)


@pytest.mark.parametrize("version", VERSIONS)
def test_h2a_place_name_pays_and_region_only_for_the_regions_departements(version):
    change = draft_formation()
    paris = LieuFactory(
        structure=change.formation.structure,
        nom="Antenne de Paris",
        adresse="1 rue de Rivoli",
        code_postal="75001",
        ville="Paris",
        code_insee="75101",
    )
    draft_sv = change.formation_version.sessions.get()
    fm.SessionPlace.objects.filter(session_version=draft_sv).delete()
    fm.SessionPlace.objects.create(session_version=draft_sv, lieu=paris, is_principal=True)
    sv = first_session(publish(change))
    doc = export(version)
    lieu = doc.all("l:lieu-de-formation", doc.action(sv.session.reference))[0]
    adresse = doc.all("l:coordonnees/l:adresse", lieu)[0]
    if version == "2.2":
        assert doc.text("l:coordonnees/l:nom", lieu) == ["Antenne de Paris"]  # no <denomination> in 2.2
    else:
        assert doc.text("l:denomination", adresse) == ["Antenne de Paris"]
    assert doc.text("l:pays", adresse) == ["FR"] and doc.text("l:region", adresse) == []  # Paris: not our region
    orleans = doc.all("//l:organisme-formation-responsable/l:coordonnees-organisme/l:coordonnees/l:adresse")[0]
    assert doc.text("l:departement", orleans) == ["45"] and doc.text("l:region", orleans) == ["24"]
    assert doc.text("l:pays", orleans) == ["FR"]


def _stamps(doc, formation):
    f = doc.formation(formation.reference)
    attr = "horodatage-modification" if doc.version == "2.3" else "datemaj"
    return f.get(attr), [s.get(attr) for s in doc.all(".//l:session", f)]


def test_h2a_modification_stamp_follows_a_change_of_the_organisme_or_a_place():
    changed = published_formation()
    unchanged = published_formation()
    fm.Formation.objects.update(published_at=timezone.now() - datetime.timedelta(hours=1))  # published earlier
    changed.refresh_from_db()
    doc = export("2.3")
    before, before_unchanged = _stamps(doc, changed), _stamps(doc, unchanged)
    assert before[0] == changed.published_at.isoformat(timespec="seconds")
    assert export("2.3").root is not None and _stamps(export("2.3"), changed) == before  # nothing changed
    # The Carif corrects the organisme's raison sociale (identity field, no new version of
    # the formation), and the OF moves the place of the session.
    moment = timezone.now()
    Structure.objects.filter(pk=changed.structure_id).update(raison_sociale="Nouvelle raison sociale")
    Lieu.objects.filter(structure=changed.structure).update(adresse="3 place du Martroi")
    doc = export("2.3")
    after = _stamps(doc, changed)
    assert after[0] > before[0] and all(a > b for a, b in zip(after[1], before[1], strict=True))
    assert datetime.datetime.fromisoformat(after[0]) >= moment.replace(microsecond=0)
    assert _stamps(doc, unchanged) == before_unchanged
    # --since keeps what changed since then, whatever changed it.
    since = export("2.3", since=moment)
    assert [f.get("numero") for f in since.all("//l:formation")] == [changed.reference]
    assert "Nouvelle raison sociale" in since.text("//l:raison-sociale")


def test_h2a_modification_stamp_in_22_is_a_date():
    formation = published_formation()
    doc = export("2.2")
    stamp, sessions = _stamps(doc, formation)
    assert stamp == lheo.lheo_date(formation.published_at)  # AAAAMMJJ: 2.2 has no time stamps
    assert sessions == [stamp]


@pytest.mark.parametrize("version", VERSIONS)
def test_h2a_ended_sessions_exported_for_90_days_with_recruitment_closed(version):
    formation = published_formation(sessions=3)
    recent, old, running = formation.live_version.sessions.order_by("date_debut")
    today = timezone.localdate()
    fm.SessionVersion.objects.filter(pk=recent.pk).update(
        date_debut=today - datetime.timedelta(days=100), date_fin=today - datetime.timedelta(days=10)
    )
    fm.SessionVersion.objects.filter(pk=old.pk).update(
        date_debut=today - datetime.timedelta(days=400), date_fin=today - datetime.timedelta(days=91)
    )
    fm.SessionVersion.objects.filter(pk=running.pk).update(
        date_debut=today - datetime.timedelta(days=10), date_fin=today + datetime.timedelta(days=100)
    )
    doc = export(version)
    exported = {el.get("numero") for el in doc.all("//l:session")}
    assert recent.session.reference in exported and running.session.reference in exported
    assert old.session.reference not in exported  # ended more than 90 days ago
    ended = doc.all(f"//l:session[@numero='{recent.session.reference}']")[0]
    assert doc.text("l:etat-recrutement", ended) == ["2"]  # fermé: no one can join any more
    current = doc.all(f"//l:session[@numero='{running.session.reference}']")[0]
    assert doc.text("l:etat-recrutement", current) == ["1"]
    # A formation whose sessions all ended long ago leaves the offer.
    fm.SessionVersion.objects.filter(pk__in=[recent.pk, running.pk]).update(
        date_debut=today - datetime.timedelta(days=300), date_fin=today - datetime.timedelta(days=200)
    )
    with pytest.raises(lheo.EmptyOffer):
        export(version)


def test_h2a_an_export_of_selected_sessions_never_moves_the_stamps():
    formation = published_formation(sessions=2)
    fm.Formation.objects.update(published_at=timezone.now() - datetime.timedelta(hours=1))
    full = _stamps(export("2.3"), formation)
    selected = first_session(formation).session
    partial = export("2.3", sessions=[selected])
    assert _stamps(partial, formation) == (full[0], full[1][:1])
    assert _stamps(export("2.3"), formation) == full  # the next full export: nothing moved


@pytest.mark.parametrize("version", VERSIONS)
def test_h2a_nda_with_a_letter_is_written_as_it_is(version):
    with_letter = published_formation(StructureFactory(nda="7331P001531"))
    lower = published_formation(StructureFactory(nda="7331p001532"))
    doc = export(version)
    nda = "l:organisme-formation-responsable/l:numero-activite"
    assert doc.text(nda, doc.formation(with_letter.reference)) == ["7331P001531"]
    assert doc.text(nda, doc.formation(lower.reference)) == ["7331P001532"]
