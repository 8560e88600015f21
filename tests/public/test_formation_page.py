"""P4: everything public the OF entered on the formation page (blocs, modalités
pédagogiques, cycles, équipements and their coût indicatif, recruitment), « Lieux », share
and print, 410 for withdrawn offer with similar formations, schema.org Course data."""

import datetime
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from ofeli.formations import models as fm
from ofeli.public.indexing import rebuild
from ofeli.referentials.models import BlocCompetences, StructureState

from .conftest import CHATEAUROUX, TODAY, north_of

pytestmark = pytest.mark.django_db
D = datetime.timedelta


def page(client, formation, status=200):
    response = client.get(reverse("public:formation_short", args=[formation.reference]), follow=True)
    assert response.status_code == status
    return response.content.decode()


def jsonld_of(html):
    return json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1))


@pytest.fixture
def full(offer, rncp_cert):
    formation = offer.formation("CAP Boucher", certification=rncp_cert, sessions=[], index=False)
    sv = offer.session(
        formation.live_version,
        modalites_pedagogiques=["1", "4"],
        commentaire_modalites_pedagogiques="Plateau technique de découpe.",
        duree_hebdomadaire=35,
        financements=("AFC01",),
    )
    fm.SessionPlace.objects.create(session_version=sv, lieu=offer.place(north_of(CHATEAUROUX, 5)))
    fm.Cycle.objects.create(session_version=sv, annee=1, type_cycle="1", type_alternance="1")
    blocs = [
        BlocCompetences.objects.create(certification=rncp_cert, code=f"RNCP12345BC0{i}", libelle=f"Bloc numéro {i}")
        for i in (1, 2)
    ]
    group = fm.SessionBlocs.objects.create(session_version=sv, certification=rncp_cert, type_validation="1")
    group.blocs.set(blocs)
    fm.Equipement.objects.create(
        session_version=sv, type_equipement="3", cout_indicatif=Decimal("45.50"), commentaire="Gants anti-coupure"
    )
    fm.RecruitmentSlot.objects.create(
        session_version=sv, modalite="8", date=TODAY + D(5), perimetre="2", structure=formation.structure
    )
    rebuild([formation.pk])
    return formation


def test_p4_formation_page_shows_blocs_pedagogie_cycles_equipements_and_recruitment(client, full):
    html = page(client, full)
    for text in [
        "Modalités pédagogiques",
        "Cours en groupe, Atelier pratique / plateau technique. Plateau technique de découpe.",
        "Cycles de l'alternance",
        "Année 1 : Contrat d&#x27;apprentissage (Contrat d&#x27;apprentissage (CA))",
        "Blocs de compétences",
        "CAP boucher — Totale: tous les blocs",
        "RNCP12345BC01 — Bloc numéro 1",
        "RNCP12345BC02 — Bloc numéro 2",
        "Protection des mains (coût indicatif 45,50 €) : Gants anti-coupure",
        "Entretien ou RDV individuel le ",
        "Périmètre de recrutement : Département",
        "Lieux de formation",
    ]:
        assert text in html, text
    assert "Lieus" not in html


def test_p4_share_link_and_print_stylesheet(client, full):
    html = page(client, full)
    url = f"http://testserver/formation/{full.reference}/cap-boucher/"
    assert f'data-copy-url="{url}"' in html
    assert "mailto:?subject=CAP%20Boucher&amp;body=http%3A//testserver/formation/" in html
    assert "data-print" in html and "<script>" not in html and " onclick=" not in html
    css = (Path(settings.BASE_DIR) / "ofeli/public/static/public/public.css").read_text()
    assert "@media print" in css and "size: A4" in css and ".sessions-past" in css


def test_p4_withdrawn_formation_answers_410_with_similar_formations(client, offer, rncp_cert):
    gone = offer.formation("CAP Boucher Tours", certification=rncp_cert)
    same = offer.formation("CAP Boucher en apprentissage", certification=rncp_cert)
    words = offer.formation("Boucher traiteur")
    offer.formation("Cuisine")
    gone.archived_at = gone.published_at
    gone.save(update_fields=["archived_at"])
    rebuild([gone.pk])
    html = page(client, gone, status=410)
    assert "Cette formation n&#x27;est plus proposée" in html
    similar = html[html.index("data-similar") :]
    assert same.reference in similar and words.reference in similar and "Cuisine" not in similar
    assert similar.index(same.reference) < similar.index(words.reference)  # same certification first
    assert '<meta name="robots" content="noindex">' in html
    # An organisme no longer diffused: the same answer.
    other = offer.formation("Soudure", structure=None)
    other.structure.etat = StructureState.objects.create(code="ARC", libelle="Archivée")
    other.structure.save()
    assert client.get(reverse("public:formation_short", args=[other.reference])).status_code == 410
    assert client.get(reverse("public:formation_short", args=["0000000F"])).status_code == 404


# schema.org definitions (https://schema.org, version 29) of the types and properties the
# page uses, inherited properties included: every property written must be defined there.
SCHEMA_ORG = {
    "Course": {
        "@id", "url", "name", "description", "courseCode", "provider", "inLanguage", "dateModified",
        "educationalCredentialAwarded", "hasCourseInstance", "offers",
    },
    "CourseInstance": {
        "identifier", "name", "courseMode", "startDate", "endDate", "courseWorkload", "courseSchedule",
        "location", "organizer", "offers",
    },
    "Offer": {"category", "url", "availability", "availabilityStarts", "availabilityEnds", "description"},
    "Schedule": {"startDate", "endDate", "duration", "repeatFrequency"},
    "Place": {"name", "address", "geo"},
    "PostalAddress": {"streetAddress", "postalCode", "addressLocality", "addressCountry"},
    "GeoCoordinates": {"latitude", "longitude"},
    "Organization": {"name", "url"},
    "EducationalOccupationalCredential": {"name", "url", "identifier"},
}  # fmt: skip
ITEM_AVAILABILITY = {
    f"https://schema.org/{v}" for v in ("InStock", "PreOrder", "SoldOut", "Discontinued", "LimitedAvailability")
}


def _check(node, path="Course"):
    if isinstance(node, list):
        for item in node:
            _check(item, path)
        return
    if not isinstance(node, dict):
        return
    kind = node["@type"]
    allowed = SCHEMA_ORG[kind]
    for key, value in node.items():
        if key in ("@type", "@context"):
            continue
        assert key in allowed, f"{path}.{key} is not a property of {kind}"
        _check(value, f"{path}.{key}")


def test_p4_jsonld_course_rich_results_checked_against_schema_org(client, full):
    data = jsonld_of(page(client, full))
    _check(data)
    # Google's Course info: name, description, provider, offers (category), hasCourseInstance
    # with courseMode, courseSchedule or courseWorkload, location, startDate / endDate.
    assert data["name"] and data["description"] and data["provider"]["name"]
    assert data["offers"] == [{"@type": "Offer", "category": "Free", "url": data["url"]}]  # AFC01: public funds
    (instance,) = data["hasCourseInstance"]
    assert instance["courseMode"] == "onsite" and instance["courseWorkload"] == "PT100H"  # 100 h en centre
    assert instance["courseSchedule"] == {
        "@type": "Schedule",
        "startDate": (TODAY + D(30)).isoformat(),
        "endDate": (TODAY + D(120)).isoformat(),
        "duration": "PT35H",
        "repeatFrequency": "P1W",
    }
    assert len(instance["location"]) == 2 and all(p["address"]["addressCountry"] == "FR" for p in instance["location"])
    assert instance["offers"]["availability"] in ITEM_AVAILABILITY


def test_p4_jsonld_offer_category_from_the_financing_entered(client, offer):
    paid = offer.formation("Paie", sessions=[{"financements": ["CPR02"]}])
    assert jsonld_of(page(client, paid))["offers"][0]["category"] == "Paid"
    mixed = offer.formation("Paie mixte", sessions=[{"financements": ["CPR02"]}, {"financements": ["PRF01"]}])
    assert jsonld_of(page(client, mixed))["offers"][0]["category"] == "Partially Free"
    none = offer.formation("Paie sans financement", sessions=[{"financements": ()}])
    assert "offers" not in jsonld_of(page(client, none))


def test_p6_legal_pages_of_a_french_public_site(client, offer):
    formation = offer.formation("Menuiserie")
    accessibility = client.get(reverse("accessibility")).content.decode()
    for text in [
        "Déclaration d'accessibilité",
        "partiellement conforme",
        "Résultats des tests",
        "axe-core 4.11.0",
        "Contenus non accessibles",
        "Voies de recours",
        "Défenseur des droits",
    ]:
        assert text in accessibility, text
    legal = client.get(reverse("legal")).content.decode()
    assert "Directeur de la publication" in legal and "GeoNames" in legal and "Licence Ouverte" in legal
    personal = client.get(reverse("personal_data")).content.decode()
    assert "Site public Formation Centre-Val de Loire" in personal and "aucun" in personal
    plan = client.get(reverse("public:plan")).content.decode()
    assert "Plan du site" in plan
    assert f'href="/organisme/{formation.structure.reference}/"' in plan
    assert 'href="/?dpt=36">Formations dans le département Indre (36)' in plan
    for name in ("accessibility", "legal", "personal_data"):
        assert f'href="{reverse(name)}"' in plan
    # The DSFR footer of every public page links them.
    footer = client.get("/").content.decode().split('id="pied-de-page"')[1]
    for url, label in [
        (reverse("public:plan"), "Plan du site"),
        (reverse("accessibility"), "Accessibilité : partiellement conforme"),
        (reverse("legal"), "Mentions légales"),
        (reverse("personal_data"), "Données personnelles"),
    ]:
        assert f'href="{url}">{label}</a>' in footer


def test_p3_maps_markers_tile_setting_and_communes_for_geolocation(client, offer, settings):
    formation = offer.formation(
        "Soudure", sessions=[{}, {"point": north_of(CHATEAUROUX, 15)}, {"modalite": "2", "point": None}]
    )
    html = client.get("/", {"q": "soudure", "vue": "sessions"}).content.decode()
    data = json.loads(
        re.search(r'<script id="carte-resultats-donnees" type="application/json">(.*?)</script>', html).group(1)
    )
    assert len(data) == 2 and all(m["links"][0]["url"].startswith(f"/formation/{formation.reference}/") for m in data)
    assert 'data-tiles=""' in html  # tests: no tile server
    settings.MAP_TILE_URL = "https://tuiles.example.org/{z}/{x}/{y}.png"
    assert (
        'data-tiles="https://tuiles.example.org/{z}/{x}/{y}.png"' in client.get("/", {"q": "soudure"}).content.decode()
    )
    page_html = page(client, formation)
    places = json.loads(
        re.search(r'<script id="carte-lieux-donnees" type="application/json">(.*?)</script>', page_html).group(1)
    )
    assert len(places) == 2 and places[0]["links"][0]["url"].startswith("#session-")
    assert "vendor/leaflet-1.9.4/leaflet.js" in page_html and "unpkg" not in page_html and "cdn" not in page_html
    communes = client.get(reverse("public:communes_positions")).json()
    assert ["Châteauroux (36000)", 46.81248, 1.69362] in communes
