"""Issue 10, « Smaller ones » on the OF side, checked without a browser: recruitment
modalities in the guide's words (F13), « Personne » of a session contact searched among the
user's structures only (F7), plurals, the consent link (A2), the kept proof file (A2) and the
prefilled login after activation (A4). The browser side is test_browser_issue10_of.py."""

import html

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ofeli.formations.forms import RecruitmentSlotForm
from ofeli.formations.models import RecruitmentSlot
from ofeli.referentials import lheo
from tests.factories import ContactFactory, MembershipFactory, StaffFactory, StructureFactory

pytestmark = pytest.mark.django_db


def text(response):
    return html.unescape(response.content.decode())


def plain(sv):
    return {
        "s-date_debut": sv.date_debut.isoformat(),
        "s-date_fin": sv.date_fin.isoformat(),
        "s-kind": sv.kind,
        "s-modalite_enseignement": sv.modalite_enseignement,
        "s-duree_centre": sv.duree_centre,
        "s-duree_entreprise": sv.duree_entreprise,
    }


# F13: modalités de recrutement read like the guide -------------------------------------


def test_f13_recruitment_modalities_are_labelled_like_the_guide_without_code(sv):
    form = RecruitmentSlotForm(sv=sv, places=sv.places.none(), structures=sv.trainers.none())
    labels = dict(form.fields["modalite"].choices)
    assert labels["9"] == "Réunion d'information collective"
    assert labels["8"] == "Rendez-vous individuel"
    assert labels["7"] == "Inscription sur candidature"
    assert not any(str(label)[:1].isdigit() for code, label in labels.items() if code)
    # every LHEO code is still offered, and still what is stored
    assert {code for code in labels if code} == lheo.codes(lheo.MODALITE_RECRUTEMENT)


def test_f13_session_page_and_review_show_the_label_and_lheo_keeps_the_code(of_client, url, sv):
    RecruitmentSlot.objects.filter(session_version=sv).update(modalite="9")
    page = text(of_client.get(url))
    assert "Réunion d'information collective" in page
    assert "9 - information collective" not in page and "9 - Réunion" not in page
    slot = sv.recruitment_slots.get()
    assert slot.modalite == "9" and slot.get_modalite_display() == "Réunion d'information collective"
    # The LHEO table (flows, API) keeps its own wording for the code.
    assert lheo.label(lheo.MODALITE_RECRUTEMENT, "9") == "information collective"


# F7: « Personne » searched among the user's structures --------------------------------


def test_f7_personne_is_a_search_field_not_a_drop_down(of_client, url, change):
    for i in range(40):
        ContactFactory(structure=change.formation.structure, nom=f"NOM{i:02d}")
    page = text(of_client.get(url))
    assert 'id="id_ct-contact" name="contact_q"' in page  # the label « Personne » is the search field
    assert 'name="ct-contact"' not in page  # no list of every contact (no <select>, no radios) before a search
    assert 'id="ct-contact-' not in page


def test_f7_contact_type_ahead_lists_only_contacts_of_the_users_structures(of_client, change, sv):
    own = ContactFactory(structure=change.formation.structure, nom="THEVENIN", prenom="Laure")
    ContactFactory(structure=change.formation.structure, nom="MARC", prenom="Carole")
    foreign = ContactFactory(structure=StructureFactory(), nom="THEVENIN", prenom="Louise")
    endpoint = reverse("formations:contact_results", args=[change.formation.reference, sv.session.reference])
    answer = text(of_client.get(endpoint, {"contact_q": "thevenin"}))
    assert f'name="ct-contact" value="{own.pk}"' in answer and own.reference in answer
    assert f'name="ct-contact" value="{foreign.pk}"' not in answer and "Louise" not in answer
    assert "MARC" not in answer
    # the magnifier without a query lists every contact of the user's structures
    everything = text(of_client.get(endpoint, {"contact_q": ""}))
    assert "MARC" in everything and "THEVENIN" in everything and "Louise" not in everything
    assert "Aucun contact trouvé" in text(of_client.get(endpoint, {"contact_q": "zzzz"}))
    # accents and case ignored, every word must match, the reference finds it too
    ContactFactory(structure=change.formation.structure, nom="DOUGNAC", prenom="Aurélie")
    assert "DOUGNAC" in text(of_client.get(endpoint, {"contact_q": "aurelie dougnac"}))
    assert "DOUGNAC" not in text(of_client.get(endpoint, {"contact_q": "aurelie marc"}))
    assert "THEVENIN" in text(of_client.get(endpoint, {"contact_q": own.reference.lower()}))


def test_f7_contact_type_ahead_runs_a_fixed_number_of_queries(of_client, change, sv):
    endpoint = reverse("formations:contact_results", args=[change.formation.reference, sv.session.reference])
    of_client.get(endpoint, {"contact_q": ""})
    with CaptureQueriesContext(connection) as few:
        of_client.get(endpoint, {"contact_q": ""})
    for i in range(25):
        ContactFactory(structure=change.formation.structure, nom=f"NOM{i:02d}")
    with CaptureQueriesContext(connection) as many:
        page = text(of_client.get(endpoint, {"contact_q": ""}))
    assert "NOM24" in page
    assert len(many) == len(few)


def test_f7_contact_search_without_javascript_then_choice(of_client, url, change, sv):
    own = ContactFactory(structure=change.formation.structure, nom="THEVENIN", prenom="Laure")
    response = of_client.post(url, plain(sv) | {"action": "search_contact", "contact_q": "Laure"})
    page = text(response)
    assert response.status_code == 200
    assert f'name="ct-contact" value="{own.pk}"' in page
    assert '<details class="fr-mb-2w" id="add-contact" open>' in page
    response = of_client.post(
        url, plain(sv) | {"action": "add_contact", "contact_q": "Laure", "ct-contact": own.pk, "ct-type_contact": "3"}
    )
    assert response.status_code == 302
    assert sv.contacts.get(contact=own).type_contact == "3"


def test_f7_forged_post_of_another_structures_contact_is_refused(of_client, url, change, sv):
    foreign = ContactFactory(structure=StructureFactory(), nom="AUTRE")
    response = of_client.post(
        url,
        plain(sv) | {"action": "add_contact", "contact_q": "AUTRE", "ct-contact": foreign.pk, "ct-type_contact": "3"},
    )
    page = text(response)
    assert response.status_code == 200
    assert not sv.contacts.filter(contact=foreign).exists()
    # the French message is next to the search field and in the summary (linking to it)
    assert 'id="id_ct-contact-desc-error"' in page
    assert 'href="#id_ct-contact"' in page
    assert "Ce contact ne fait pas partie des contacts de vos structures" in page
    # the search itself never offers it
    assert f'name="ct-contact" value="{foreign.pk}"' not in page


def test_f7_contact_results_need_rights_on_the_formation(client, change, sv):
    outsider = MembershipFactory().user
    client.force_login(outsider)
    endpoint = reverse("formations:contact_results", args=[change.formation.reference, sv.session.reference])
    assert client.get(endpoint, {"contact_q": ""}).status_code == 403


# Plurals (issue 10): « 1 contact lié », « 2 contacts liés » ---------------------------


@pytest.mark.parametrize(
    ("count", "expected"),
    [(0, "0 contacts liés à la structure"), (1, "1 contact lié à la structure"), (2, "2 contacts liés à la structure")],
)
def test_b3_dashboard_contacts_counter_agrees_with_its_number(client, count, expected):
    import re

    structure = StructureFactory()
    user = MembershipFactory(structure=structure).user
    for _ in range(count):
        ContactFactory(structure=structure)
    client.force_login(user)
    page = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", text(client.get(reverse("dashboard")))))
    assert expected in page
    assert "0 contacts ayant des droits de saisie" in page  # none of them has an OFeli account here


@pytest.mark.parametrize("n", [0, 1, 2])
def test_session_read_and_tables_plurals_render_0_1_2(n):
    """Issue 10: the OF and Carif templates that print a number agree with it."""
    from types import SimpleNamespace

    from django.template.loader import render_to_string

    one = n == 1
    sv = SimpleNamespace(
        duree_centre=n, duree_entreprise=n, duree_totale=n, duree_hebdomadaire=n, get_modalite_enseignement_display=""
    )
    financement = SimpleNamespace(nb_places=n or None, dispositif="CPR02", financeur="Privé")
    blocs = SimpleNamespace(all=lambda: list(range(n)))
    row = SimpleNamespace(certification="BTS", get_type_validation_display="Partielle", blocs=blocs)
    slot = SimpleNamespace(nb_places=n or None, get_modalite_display="Dossier", structure=SimpleNamespace(nom="OF"))
    html_text = render_to_string(
        "formations/_session_read.html",
        {"sv": sv, "financements": [financement], "blocs_rows": [row], "slots": [slot]},
    )
    unit = "heure" if one else "heures"
    assert f"{n} {unit} en centre" in html_text and f"durée totale {n} {unit}" in html_text
    assert f"{n} {unit} par semaine" in html_text or n == 0
    assert f"{n} bloc{'' if one else 's'}<br>" in html_text
    if n:
        assert f"— {n} place{'' if one else 's'}" in html_text and f", {n} place{'' if one else 's'} —" in html_text
    table = render_to_string("structures/_formations_table.html", {"rows": [], "total": n, "title": "x"})
    if n:
        assert f"sur {n} élément{'' if one else 's'}." in table
    run = SimpleNamespace(
        formations=n, sessions=n, new_sessions=n, modified_sessions=n, withdrawn_sessions=n, full_size=10
    )
    plural = "" if one else "s"
    request = RequestFactory().get("/")
    request.user = StaffFactory()
    request.current_structure = None
    partners = html.unescape(render_to_string("exports/partners.html", {"runs": {"2.3": run}}, request=request))
    assert f"{n} formation{plural}, {n} session{plural}" in partners
    assert f"{n} nouvelle{plural}, {n} modifiée{plural}, {n} retirée{plural}" in partners
