"""F6 / K1: a session of one structure never writes into another structure's address book,
and shows of another structure that is organisme formateur only its place at its address.
Each forged request is replayed as the wrong user; every table is compared before and after."""

import pytest
from django.urls import reverse

from ofeli.formations.models import SessionPlace
from ofeli.structures.models import Lieu
from ofeli.workflow.models import HistoryEntry
from tests.factories import LieuFactory, StaffFactory, StructureFactory, draft_formation
from tests.formations.test_session_rules import plain
from tests.security.snapshot import changes, snapshot, touching

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(client):
    change = draft_formation()
    sv = change.formation_version.sessions.get()
    url = reverse("formations:session", args=[change.formation.reference, sv.session.reference])
    other = StructureFactory(nom="3 SIGMA")  # address: 10 Rue Saint-Étienne, 45000 Orléans
    secret = LieuFactory(structure=other, nom="Site confidentiel", adresse="1 Impasse Cachée", code_postal="41000")
    client.force_login(change.created_by)
    client.post(url, plain(sv) | {"action": "add_trainer", "trainer": other.pk})
    trainer = sv.trainers.get(structure=other)
    client.post(url, plain(sv) | {"action": f"principal_trainer:{trainer.pk}"})
    return change, sv, url, other, secret


def replay(client, url, data):
    before = snapshot()
    response = client.post(url, data)
    assert response.status_code in (200, 302)
    return changes(before, snapshot())


def test_f6_k1_oui_after_a_foreign_principal_trainer_creates_the_place_in_the_users_structure(client, setup):
    change, sv, url, other, _secret = setup
    found = replay(client, url, plain(sv) | {"action": "principal_update_yes"})
    assert touching(found, other) == []  # no row of 3 SIGMA added, changed or removed
    mine = change.formation.structure
    lieu = sv.places.get(is_principal=True).lieu
    assert lieu.structure == mine and (lieu.adresse, lieu.code_postal, lieu.nom) == (
        "10 Rue Saint-Étienne",
        "45000",
        "3 SIGMA",
    )
    assert HistoryEntry.objects.filter(structure=mine, details__contains=lieu.reference).exists()
    # « Oui » again reuses that place: no second copy
    client.post(url, plain(sv) | {"action": f"principal_trainer:{sv.trainers.get(structure=other).pk}"})
    client.post(url, plain(sv) | {"action": "principal_update_yes"})
    assert Lieu.objects.filter(structure=mine, adresse="10 Rue Saint-Étienne").count() == 1


def test_f6_k1_oui_uses_the_trainers_existing_place_at_its_address(client, setup):
    _change, sv, url, other, _secret = setup
    there = LieuFactory(structure=other, nom="3 SIGMA Orléans", adresse="10 Rue Saint-Étienne", code_postal="45000")
    found = replay(client, url, plain(sv) | {"action": "principal_update_yes"})
    assert touching(found, other) == []
    assert sv.places.get(is_principal=True).lieu == there and not [c for c in found if c[0] is Lieu]


def test_f6_k1_recruitment_slot_at_the_trainers_address_writes_nothing_in_its_structure(client, setup):
    change, sv, url, other, _secret = setup
    data = plain(sv) | {
        "action": "add_slot",
        "rs-modalite": "9",
        "rs-date": "2026-08-19",
        "rs-heure_debut": "10:00",
        "rs-heure_fin": "11:00",
        "rs-nb_places": "10",
        "rs-structure": other.pk,
        "rs-use_trainer_address": "on",
    }
    found = replay(client, url, data)
    assert touching(found, other) == []
    slot = sv.recruitment_slots.get(date="2026-08-19")
    assert slot.lieu.structure == change.formation.structure and slot.lieu.code_postal == "45000"


def test_c8_f6_k1_a_trainer_shows_only_its_place_at_its_address(client, setup):
    _change, sv, url, other, secret = setup
    there = LieuFactory(structure=other, nom="3 SIGMA Orléans", adresse="10 Rue Saint-Étienne", code_postal="45000")
    page = client.get(url).content.decode()
    assert "3 SIGMA Orléans" in page and "Site confidentiel" not in page and "Impasse Cachée" not in page
    # the other place, posted by hand, is refused and nothing is written
    found = replay(client, url, plain(sv) | {"action": "add_place", "place": secret.pk})
    assert not SessionPlace.objects.filter(lieu=secret).exists()
    assert touching(found, other) == []
    client.post(url, plain(sv) | {"action": "add_place", "place": there.pk})
    assert SessionPlace.objects.filter(session_version=sv, lieu=there).exists()


def test_f6_staff_may_create_the_place_in_the_trainers_own_address_book(client, setup):
    _change, sv, url, other, _secret = setup
    staff = StaffFactory()
    client.force_login(staff)
    client.post(url, plain(sv) | {"action": "principal_update_yes"})
    lieu = sv.places.get(is_principal=True).lieu
    assert lieu.structure == other and lieu.created_by == staff
    assert HistoryEntry.objects.filter(structure=other, details__contains=lieu.reference).exists()
