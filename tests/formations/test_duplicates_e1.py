"""E1: the duplicate warning compares meaningful words and the certification, shows title,
certification, sessions and state of each candidate, and raises no false alarm on the
guide's examples."""

import pytest
from django.urls import reverse

from ofeli.formations.duplicates import duplicate_candidates, meaningful_words, similar_titles
from tests.factories import CertificationFactory, StructureFactory, draft_formation, published_formation

pytestmark = pytest.mark.django_db

GUIDE_TITLES = [
    "Titre professionnel comptable assistant",
    "Titre professionnel gestionnaire comptable et fiscal",
    "Titre professionnel secrétaire assistant",
    "BTS assurance",
    "Comptabilité pour les petites entreprises",
]


def test_e1_meaningful_words_drop_generic_and_stop_words_and_fold_plurals():
    assert meaningful_words("Titre professionnel secrétaire assistant") == {"secretaire", "assistant"}
    assert meaningful_words("Comptabilité pour les petites entreprises") == {"comptabilite", "petite", "entreprise"}


def test_e1_no_false_alarm_between_the_guides_examples():
    for a in GUIDE_TITLES:
        for b in GUIDE_TITLES:
            assert similar_titles(a, b) == (a == b), (a, b)


def test_e1_near_identical_titles_are_flagged():
    assert similar_titles("Comptabilité pour les petites entreprises", "Comptabilité des petites entreprise")
    assert similar_titles(
        "Comptabilité des petites et moyennes entreprises", "Comptabilité des petites entreprises moyennes"
    )
    assert not similar_titles("Initiation à la comptabilité", "Perfectionnement en comptabilité")


def test_e1_secretaire_assistant_is_not_a_duplicate_of_comptable_assistant(client):
    formation = published_formation(intitule="Titre professionnel comptable assistant")
    user = formation.change_requests.first().created_by
    client.force_login(user)
    response = client.post(
        reverse("formations:create"),
        {"certifiante": "non", "intitule": "Titre professionnel secrétaire assistant", "action": "create"},
    )
    assert response.status_code == 302  # created at once: no warning


def test_e1_candidate_shows_title_certification_sessions_and_state(client, django_assert_max_num_queries):
    certification = CertificationFactory()
    structure = StructureFactory()
    change = draft_formation(structure, certification=certification, intitule="BTS assurance", sessions=2)
    published_formation(structure, intitule="Comptabilité pour les petites entreprises")
    with django_assert_max_num_queries(4):
        (candidate,) = duplicate_candidates(structure, "BTS assurance", certification)
    assert candidate.formation == change.formation
    assert (candidate.intitule, candidate.certification, candidate.sessions) == ("BTS assurance", certification, 2)
    assert candidate.state == "En cours de création" and candidate.reason == "même certification"
    client.force_login(change.created_by)
    response = client.post(
        reverse("formations:create"), {"certifiante": "oui", "certification": certification.pk, "action": "create"}
    )
    html = response.content.decode()
    assert "Attention à ne pas créer de doublon" in html
    assert f"n° {change.formation.reference}, même certification" in html
    assert "2 sessions du 01/09/2026 au 30/06/2027" in html
    assert "En cours de création" in html and "certification 94419 - BTS assurance" in html


def test_e1_two_different_certifications_are_two_formations():
    structure = StructureFactory()
    old = CertificationFactory(
        code_certifinfo="102925", intitule="Titre professionnel gestionnaire comptable et fiscal"
    )
    new = CertificationFactory(
        code_certifinfo="115066", intitule="Titre professionnel gestionnaire comptable et fiscal"
    )
    draft_formation(structure, certification=old, intitule=old.intitule)
    assert duplicate_candidates(structure, new.intitule, new) == []
    assert len(duplicate_candidates(structure, new.intitule, None)) == 1  # non certifiante: the title counts
