"""E1-E6: the formation screens and their rules (accepted and refused cases)."""

import pytest
from django.urls import reverse

from ofeli.formations.forms import FinancementForm, FormationForm
from ofeli.formations.models import Formation
from ofeli.formations.rules import acronym_warning, formation_problems
from ofeli.workflow import services
from tests.factories import (
    ApprenticeshipDispositifFactory,
    CertificationFactory,
    MembershipFactory,
    StaffFactory,
    StructureFactory,
    draft_formation,
    published_formation,
)

pytestmark = pytest.mark.django_db


def formation_form(**data):
    base = {"f-intitule": "Comptabilité pour les petites entreprises", "f-objectif": "", "f-contenu": ""}
    base.update({f"f-{k}": v for k, v in data.items()})
    return FormationForm(base, prefix="f")


def test_e4_all_capitals_title_is_refused_with_a_message():
    form = formation_form(intitule="COMPTABILITE GENERALE DES ENTREPRISES")
    assert not form.is_valid()
    assert "majuscules" in form.errors["intitule"][0]


def test_e4_readable_title_is_accepted_and_acronyms_only_warned():
    form = formation_form(intitule="BTS assurance")
    assert form.is_valid(), form.errors
    assert "BTS" in acronym_warning("BTS assurance")
    assert acronym_warning("Préparation au métier de boucher") is None


def test_e4_texts_limited_to_3000_characters():
    form = formation_form(objectif="a" * 3001, contenu="b" * 3000)
    assert not form.is_valid()
    assert "3000" in form.errors["objectif"][0]
    assert "contenu" not in form.errors


def test_e4_pasted_control_characters_are_cleaned():
    form = formation_form(
        objectif="Savoir\u200b compter\u00a0les\x0b heures\r\nsuite", intitule="Gestion\u200b de paie"
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["objectif"] == "Savoir compter les heures\nsuite"
    assert form.cleaned_data["intitule"] == "Gestion de paie"


def test_e4_web_site_must_be_https():
    assert not formation_form(site_web="http://www.example.org").is_valid()
    assert formation_form(site_web="https://www.example.org").is_valid()


def test_e4_duree_cycle_required_for_apprenticeship_at_submission():
    change = draft_formation()
    sv = change.formation_version.sessions.get()
    financement = sv.financements.get()
    financement.dispositif = ApprenticeshipDispositifFactory()
    financement.financeur = financement.dispositif.financeur
    financement.save()
    fields = {p.field for p in formation_problems(change.formation_version)}
    assert "duree_cycle" in fields
    change.formation_version.duree_cycle = 2
    change.formation_version.save()
    fields = {p.field for p in formation_problems(change.formation_version)}
    assert "duree_cycle" not in fields


def test_e1_duplicate_is_flagged_before_creation(client):
    formation = published_formation(intitule="Comptabilité pour les petites entreprises")
    user = formation.change_requests.first().created_by
    client.force_login(user)
    url = reverse("formations:create")
    data = {"certifiante": "non", "intitule": "Comptabilité pour les petites entreprise", "action": "create"}
    response = client.post(url, data)
    assert response.status_code == 200
    assert "Attention à ne pas créer de doublon" in response.content.decode()
    assert Formation.objects.count() == 1
    response = client.post(url, {**data, "confirm_duplicate": "1"})
    assert response.status_code == 302
    assert Formation.objects.count() == 2


def test_e1_same_certification_is_a_likely_duplicate(client):
    certification = CertificationFactory()
    change = draft_formation(certification=certification, intitule="BTS assurance")
    client.force_login(change.created_by)
    response = client.post(
        reverse("formations:create"), {"certifiante": "oui", "certification": certification.pk, "action": "create"}
    )
    assert response.status_code == 200
    assert change.formation.reference in response.content.decode()


def test_e2_certification_search_by_label_codes_and_published_by_default(client):
    published = CertificationFactory()
    inactive = CertificationFactory(
        code_certifinfo="102925",
        intitule="Titre professionnel gestionnaire comptable et fiscal",
        code_rncp="31677",
        etat="1",
    )
    client.force_login(MembershipFactory().user)
    url = reverse("formations:certification_results")
    for query in ("assurance", "38234", "RNCP38234", "94419", "ASSURANCE"):
        content = client.get(url, {"q": query}).content.decode()
        assert "BTS assurance" in content, query
        assert "francecompetences.fr/recherche/rncp/38234" in content
    assert "gestionnaire comptable" not in client.get(url, {"q": "gestionnaire"}).content.decode()
    assert "gestionnaire comptable" in client.get(url, {"q": "gestionnaire", "toutes": "1"}).content.decode()
    assert published.pk and inactive.pk


def test_e2_oui_without_selected_certification_is_refused(client):
    client.force_login(MembershipFactory().user)
    response = client.post(reverse("formations:create"), {"certifiante": "oui", "action": "create"})
    assert response.status_code == 200
    assert "sélectionnez la certification" in response.content.decode()
    assert not Formation.objects.exists()


def test_e3_formation_made_from_a_certification_is_prefilled(client):
    certification = CertificationFactory()
    client.force_login(MembershipFactory().user)
    response = client.post(
        reverse("formations:create"), {"certifiante": "oui", "certification": certification.pk, "action": "create"}
    )
    assert response.status_code == 302
    version = Formation.objects.get().change_requests.get().formation_version
    assert version.intitule == "BTS assurance"
    assert version.niveau_sortie == "15"
    assert version.objectif == certification.objectif
    assert version.contenu == certification.contenu
    assert version.certification == certification


def test_e4_organisme_responsable_is_the_current_structure(client):
    membership = MembershipFactory()
    MembershipFactory(user=membership.user)  # a second structure
    client.force_login(membership.user)
    client.post(reverse("set_structure"), {"structure": membership.structure.pk})
    client.post(reverse("formations:create"), {"certifiante": "non", "intitule": "Bureautique", "action": "create"})
    assert Formation.objects.get().structure == membership.structure


def test_e5_of_user_cannot_create_an_apprenticeship_formation():
    apprenticeship = ApprenticeshipDispositifFactory()
    user = MembershipFactory().user
    data = {"fin-financeur": apprenticeship.financeur_id, "fin-dispositif": apprenticeship.pk}
    form = FinancementForm(data, user=user, new_formation=True)
    assert not form.is_valid()
    assert "pas créer de nouvelles formations" in form.errors["dispositif"][0]
    # adding an apprenticeship session to an existing formation is allowed
    assert FinancementForm(data, user=user, new_formation=False).is_valid()
    # the Carif may create it
    assert FinancementForm(data, user=StaffFactory(), new_formation=True).is_valid()


def test_e5_partner_fed_offer_is_read_only_for_of_users(client):
    formation = published_formation()
    formation.source = "region"
    formation.save()
    user = formation.change_requests.first().created_by
    client.force_login(user)
    response = client.get(reverse("formations:detail", args=[formation.reference]))
    assert "vous pouvez la consulter mais pas la modifier" in response.content.decode()
    assert reverse("formations:request_change", args=[formation.reference]) not in response.content.decode()
    assert client.post(reverse("formations:request_change", args=[formation.reference])).status_code == 403


def test_e6_add_and_duplicate_sessions_from_the_list(client):
    change = draft_formation()
    client.force_login(change.created_by)
    url = reverse("formations:detail", args=[change.formation.reference])
    sv = change.formation_version.sessions.get()
    base = {"f-intitule": change.formation_version.intitule}
    response = client.post(url, {**base, "action": f"duplicate:{sv.session.reference}"})
    # « Dupliquer » first asks the dates of the new session (F2), then copies it.
    dates_url = reverse("formations:duplicate_session", args=[change.formation.reference, sv.session.reference])
    assert response.status_code == 302 and response.url == dates_url
    assert change.formation_version.sessions.count() == 1
    response = client.post(dates_url, {"date_debut": "2027-09-01", "date_fin": "2028-06-30"})
    assert response.status_code == 302
    assert change.formation_version.sessions.count() == 2
    response = client.post(url, {**base, "action": "add_session"})
    assert response.status_code == 302
    assert change.formation_version.sessions.count() == 3


def test_e6_one_session_per_date_place_and_kind():
    change = draft_formation()
    sv = change.formation_version.sessions.get()
    services.duplicate_session(change, sv, change.created_by)
    messages = [p.message for p in formation_problems(change.formation_version)]
    assert any("une seule session par date, par lieu et par type de formation" in m for m in messages)


def test_e6_sessions_list_keeps_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    def count(n):
        change = draft_formation(StructureFactory(), sessions=n)
        client.force_login(change.created_by)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("formations:detail", args=[change.formation.reference])).status_code == 200
        return len(queries)

    assert count(3) == count(9)


def test_e6_sessions_list_filter(client):
    change = draft_formation(sessions=3)
    client.force_login(change.created_by)
    first, second, _ = change.formation_version.sessions.order_by("date_debut")
    url = reverse("formations:detail", args=[change.formation.reference])
    content = client.get(url, {"sessions_q": first.session.reference}).content.decode()
    assert first.session.reference in content and second.session.reference not in content
    content = client.get(url, {"sessions_q": "tours 01/10/2026"}).content.decode()
    assert second.session.reference in content and first.session.reference not in content
