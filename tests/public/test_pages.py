"""H1 public pages: formation page content, organisme page, no staff or OF-only data,
schema.org JSON-LD, sitemap, town type-ahead, htmx answers, the communes file."""

import datetime
import json
import re

import pytest
from django.urls import reverse

from ofeli.formations import models as fm
from ofeli.public.communes import DATA_FILE, read_rows
from ofeli.public.indexing import rebuild
from ofeli.public.models import Commune
from ofeli.workflow.models import ChangeRequest
from tests.factories import ContactFactory, StaffFactory, published_formation

from .conftest import TODAY

pytestmark = pytest.mark.django_db


@pytest.fixture
def rich(offer, rncp_cert):
    """A formation with everything an OF enters, public or not."""
    formation = offer.formation(
        "CAP Boucher",
        certification=rncp_cert,
        niveau_sortie="13",
        objectif="Préparer et vendre les viandes.",
        contenu="Découpe, désossage, parage.",
        sessions=[{"financements": ["AOP02"]}],
    )
    sv = fm.SessionVersion.objects.get(formation_version=formation.live_version)
    structure = formation.structure
    public = ContactFactory(structure=structure, nom="PUBLIC", prenom="Paule", email="paule.public@example.org")
    private = ContactFactory(
        structure=structure, nom="SECRET", prenom="Sam", email="sam.secret@example.org", diffusion_web=False
    )
    fm.SessionContact.objects.create(session_version=sv, contact=public, type_contact="3", is_principal=True)
    fm.SessionContact.objects.create(session_version=sv, contact=private, type_contact="14")
    place = sv.places.get().lieu
    fm.RecruitmentSlot.objects.create(
        session_version=sv,
        modalite="9",
        date=TODAY + datetime.timedelta(days=10),
        heure_debut=datetime.time(10, 0),
        heure_fin=datetime.time(11, 0),
        nb_places=12,
        lieu=place,
        structure=structure,
    )
    d = fm.Financement.objects.filter(session_version=sv).first().dispositif
    fm.Financement.objects.create(
        session_version=sv, dispositif=d, financeur=d.financeur, etat="AR", numero_marche="MARCHE-SECRET-42"
    )
    fm.SessionVersion.objects.filter(pk=sv.pk).update(
        prerequis="Avoir 16 ans.",
        rythme="30",
        commentaire_rythme="Une semaine en centre, deux en entreprise.",
        duree_centre=840,
        duree_entreprise=2200,
        duree_totale=3040,
        autres_of_formateurs="Demande interne au Carif : ajouter l'OF Dupont.",
        contact_inscription=private,
    )
    formation.link_error = "Erreur 404 interne"
    formation.save(update_fields=["link_error"])
    rebuild([formation.pk])
    return formation


def page(client, formation):
    response = client.get(reverse("public:formation_short", args=[formation.reference]), follow=True)
    assert response.status_code == 200
    return response.content.decode()


def test_h1_formation_page_shows_what_the_of_entered_with_the_numero_carif(client, rich):
    html = page(client, rich)
    sv = fm.SessionVersion.objects.get(formation_version=rich.live_version)
    assert re.search(rf"data-numero-carif>\s*{sv.session.reference}\s*<", html)
    for text in [
        "CAP Boucher",
        "Préparer et vendre les viandes.",
        "Découpe, désossage, parage.",
        "https://www.francecompetences.fr/recherche/rncp/12345/",
        "RNCP12345",
        "Avoir 16 ans.",
        "3040 heures dont 840 en centre et 2200 en entreprise",
        "Temps plein",
        "Une semaine en centre, deux en entreprise.",
        "https://www.openstreetmap.org/?mlat=",
        "Information collective",
        (TODAY + datetime.timedelta(days=10)).strftime("%d/%m/%Y"),
        "paule.public@example.org",
        "Apprentissage",
        reverse("public:organisme", args=[rich.structure.reference]),
        "Dernière mise à jour",
    ]:
        assert text in html, text
    # Stable readable URL: the short one redirects to /formation/<reference>/<slug>/.
    response = client.get(reverse("public:formation_short", args=[rich.reference]))
    assert response.status_code == 301
    assert response["Location"] == f"/formation/{rich.reference}/cap-boucher/"


def test_h1_public_pages_show_no_staff_or_of_only_data(client, rich):
    staff = StaffFactory()
    fm.Formation.objects.filter(pk=rich.pk).update(link_error="Erreur 404 interne")
    pages = [
        page(client, rich),
        client.get(reverse("public:organisme", args=[rich.structure.reference])).content.decode(),
        client.get(reverse("public:search"), {"q": "boucher"}).content.decode(),
    ]
    for html in pages:
        for secret in [
            "sam.secret@example.org",
            "SECRET",
            "MARCHE-SECRET-42",
            "Demande interne au Carif",
            "Erreur 404 interne",
            staff.email,
            "/ofeli/formations/",
            "/ofeli/structures/",
        ]:
            assert secret not in html, secret
    # Logged-in OF users and staff see the same public page.
    client.force_login(staff)
    assert "sam.secret@example.org" not in page(client, rich)


def test_h1_pending_change_content_never_on_the_formation_page(client):
    formation = published_formation(intitule="Ébénisterie d'art")
    from ofeli.workflow import services

    change = services.start_formation_change(formation, formation.created_by)
    change.formation_version.contenu = "Contenu en attente de validation"
    change.formation_version.save(update_fields=["contenu"])
    services.submit(change, formation.created_by)
    assert ChangeRequest.objects.get(pk=change.pk).status == "submitted"
    html = page(client, formation)
    assert "Ébénisterie d'art" in html and "Contenu en attente de validation" not in html


def test_h1_p4_archived_formation_is_gone_and_unpublished_is_not_found(client, offer):
    formation = offer.formation("Archivée")
    formation.archived_at = formation.published_at
    formation.save(update_fields=["archived_at"])
    assert client.get(reverse("public:formation_short", args=[formation.reference])).status_code == 410
    draft = fm.Formation.objects.create(reference="9999999F", structure=formation.structure)
    assert client.get(reverse("public:formation_short", args=[draft.reference])).status_code == 404


def test_h1_jsonld_is_valid_schema_org_course(client, rich):
    html = page(client, rich)
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert len(blocks) == 1
    data = json.loads(blocks[0])
    assert data["@context"] == "https://schema.org" and data["@type"] == "Course"
    for key in ["name", "description", "provider", "url", "courseCode", "hasCourseInstance"]:
        assert data[key], key
    assert data["provider"]["@type"] == "Organization" and data["provider"]["name"] == rich.structure.nom
    assert data["educationalCredentialAwarded"]["identifier"] == "RNCP12345"
    (instance,) = data["hasCourseInstance"]
    assert instance["@type"] == "CourseInstance"
    assert instance["courseMode"] == "onsite"
    datetime.date.fromisoformat(instance["startDate"])
    datetime.date.fromisoformat(instance["endDate"])
    assert instance["courseWorkload"] == "PT3040H"
    assert instance["location"]["@type"] == "Place" and instance["location"]["address"]["postalCode"] == "36000"
    assert (
        instance["identifier"] == fm.SessionVersion.objects.get(formation_version=rich.live_version).session.reference
    )


def test_h1_jsonld_cannot_break_out_of_its_script(client, offer):
    formation = offer.formation("Titre </script><script>alert(1)</script>")
    html = page(client, formation)
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1)
    assert "<" not in block
    assert json.loads(block)["name"] == "Titre </script><script>alert(1)</script>"


def test_h1_organisme_page_lists_its_published_offer(client, rich, offer):
    offer.formation("Charcuterie", structure=rich.structure)
    ContactFactory(structure=rich.structure, nom="ACCUEIL", diffusion_web=True, email="accueil@example.org")
    html = client.get(reverse("public:organisme", args=[rich.structure.reference])).content.decode()
    assert rich.structure.nom in html and "CAP Boucher" in html and "Charcuterie" in html
    assert "accueil@example.org" in html
    assert "10 Rue Saint-Étienne" in html and "Qualiopi" not in html


def test_h1_sitemap_and_robots(client, rich):
    xml = client.get("/sitemap.xml").content.decode()
    assert f"/formation/{rich.reference}/cap-boucher/" in xml
    assert f"/organisme/{rich.structure.reference}/" in xml
    robots = client.get("/robots.txt").content.decode()
    assert "Sitemap: http://testserver/sitemap.xml" in robots and "Disallow: /ofeli/" in robots


def test_h1_search_page_plain_get_form_and_htmx_partial(client, rich):
    html = client.get(reverse("public:search"), {"q": "boucher"}).content.decode()
    assert re.search(r'<form method="get" action="/"', html)
    assert '<label class="fr-label" for="id_q">Métier, formation, diplôme, organisme' in html
    assert "CAP Boucher" in html and 'id="nb-fin-apprentissage">1<' in html
    partial = client.get(reverse("public:search"), {"q": "boucher"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and 'id="resultats"' in partial
    assert 'id="nb-resultats" hx-swap-oob="innerHTML"' in partial
    assert '<span id="nb-fin-apprentissage" hx-swap-oob="innerHTML">1</span>' in partial


def test_h1_town_type_ahead(client):
    html = client.get(reverse("public:communes"), {"lieu": "chateaur"}).content.decode()
    assert '<option value="Châteauroux (36000)"></option>' in html
    by_postcode = client.get(reverse("public:communes"), {"lieu": "3700"}).content.decode()
    assert "Tours (37000)" in by_postcode
    assert client.get(reverse("public:communes"), {"lieu": "x"}).content.decode().strip() == ""
    # Without JavaScript the datalist already holds the main towns.
    assert '<option value="Châteauroux (36000)"></option>' in client.get(reverse("public:search")).content.decode()


def test_h1_communes_of_the_region_bundled_with_source_and_licence():
    rows = list(read_rows())  # the national file's rows of the instance's region (S2)
    assert len(rows) == Commune.objects.count() > 1700
    assert {r["departement"] for r in rows} == {"18", "28", "36", "37", "41", "45"}
    chateauroux = Commune.objects.get(code_insee="36044")
    assert chateauroux.nom == "Châteauroux" and chateauroux.postcodes == ["36000"]
    assert abs(chateauroux.latitude - 46.81) < 0.02 and abs(chateauroux.longitude - 1.69) < 0.02
    for row in rows:
        assert 46.3 < float(row["latitude"]) < 48.95 and -0.1 < float(row["longitude"]) < 3.2, row
    readme = (DATA_FILE.parent / "README.md").read_text(encoding="utf-8")
    assert "Licence Ouverte" in readme and "CC BY 4.0" in readme and "build_communes.py" in readme


def test_h1_rebuild_command(offer, capsys):
    from django.core.management import call_command

    offer.formation("Cuisine", sessions=[{}, {}])
    fm.Formation.objects.update(published_at=None)
    call_command("rebuild_public_index")
    assert "2 sessions" in capsys.readouterr().out


def test_p1_financing_badges_say_only_what_was_entered_cpf_only_with_a_cpf_financing(client, offer, rs_cert):
    """CPR02 on a certifying formation is not CPF (it was inferred before); CPF01 is."""
    individual = offer.formation(
        "Habilitation électrique", certification=rs_cert, sessions=[{"financements": ["CPR02"]}]
    )
    html = page(client, individual)
    assert "Compte personnel de formation (CPF)" not in html
    assert "Financement individuel ou employeur" in html
    cpf = offer.formation("Habilitation CPF", certification=rs_cert, sessions=[{"financements": ["CPF01"]}])
    assert "Compte personnel de formation (CPF)" in page(client, cpf)
    found = client.get(reverse("public:search"), {"fin": "cpf"}).content.decode()
    assert f'data-formation-result="{cpf.reference}"' in found
    assert f'data-formation-result="{individual.reference}"' not in found


def test_p1_cpf_dispositif_is_in_the_referential():
    from ofeli.referentials.loading import read_data

    rows = {row["code"]: row for row in read_data("dispositifs.json")}
    assert rows["CPF01"]["libelle"] == "Compte personnel de formation (CPF)"
    from ofeli.public.financing import kind_of

    assert kind_of("CPF01") == "cpf" and kind_of("CPR02") == "individuel"
