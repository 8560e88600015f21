"""S2: the region is a setting (OFELI_REGION). Any of the 18 regions, or the whole country,
gives its départements, its communes (with postcodes and positions), the public site's name
and the LHEO <region> code; the public search then works there. The demo stays 24."""

import datetime
import subprocess

import pytest
from django.urls import reverse

from ofeli.core.identifiers import nda_is_in_region
from ofeli.core.regions import REGIONS, departement_of_postcode, get_region
from ofeli.public.communes import DATA_FILE, load_communes, read_rows
from ofeli.public.models import Commune
from ofeli.users.forms import AccountRequestForm
from tests.public.conftest import OfferBuilder

from .server import PYTHON, ROOT, prod_env

RENNES = (48.1113, -1.6800)
CHATEAUROUX = (46.8103, 1.6913)


def switch_region(settings, code):
    region = get_region(code)
    settings.REGION = region
    settings.REGION_CODE = region.code
    settings.REGION_NAME = region.name
    settings.REGION_DEPARTEMENTS = list(region.departements)
    settings.PUBLIC_SITE_NAME = f"Formation {region.name}"
    settings.CARIF_NAME = "Carif-Oref"  # base.py's default outside Centre-Val de Loire
    return load_communes()


def test_s2_regions_give_their_departements_and_a_national_instance_is_valid():
    assert get_region("24").departements == ("18", "28", "36", "37", "41", "45")
    assert get_region("53").name == "Bretagne" and get_region("94").departements == ("2A", "2B")
    assert get_region("04").departements == ("974",)
    national = get_region("fr")
    assert national.national and national.name == "France" and len(national.departements) == 101
    assert national.region_of("35") == "53" and national.region_of("974") == "04"
    assert get_region("24").region_of("35") is None  # not a département of this instance
    with pytest.raises(ValueError, match="code région INSEE inconnu"):
        get_region("99")
    assert len(REGIONS) == 18
    assert [departement_of_postcode(cp) for cp in ("36000", "97400", "20000", "20200", "3600")] == [
        "36",
        "974",
        "2A",
        "2B",
        "",
    ]


def test_s2_settings_follow_ofeli_region_and_the_demo_stays_centre_val_de_loire(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings as s;"
        "print(s.REGION_CODE, s.REGION_NAME, ','.join(s.REGION_DEPARTEMENTS), s.PUBLIC_SITE_NAME, sep='|')"
    )

    def settings_for(**env):
        environment = prod_env(tmp_path, DJANGO_SETTINGS_MODULE="config.settings.dev", **env)
        out = subprocess.run([PYTHON, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True)
        return out.stdout.strip().split("|"), out.stderr

    assert settings_for()[0] == ["24", "Centre-Val de Loire", "18,28,36,37,41,45", "Formation Centre-Val de Loire"]
    assert settings_for(OFELI_REGION="53")[0] == ["53", "Bretagne", "22,29,35,56", "Formation Bretagne"]
    national, _ = settings_for(OFELI_REGION="FR", OFELI_PUBLIC_SITE_NAME="Trouver ma formation")
    assert national[0] == "FR" and national[1] == "France" and len(national[2].split(",")) == 101
    assert national[3] == "Trouver ma formation"
    _, error = settings_for(OFELI_REGION="99")
    assert "OFELI_REGION='99' : code région INSEE inconnu" in error


def test_s2_every_french_commune_is_bundled_with_postcodes_and_positions():
    everything = list(read_rows(get_region("FR").departements))
    assert len(everything) == 34875
    assert {row["region"] for row in everything} == set(REGIONS)
    by_code = {row["code_insee"]: row for row in everything}
    assert by_code["35238"]["nom"] == "Rennes" and "35000" in by_code["35238"]["codes_postaux"].split()
    assert abs(float(by_code["35238"]["latitude"]) - 48.11) < 0.05
    assert by_code["97411"]["nom"] == "Saint-Denis" and by_code["97411"]["departement"] == "974"
    assert all(-63 < float(row["longitude"]) < 56 and -22 < float(row["latitude"]) < 52 for row in everything)
    readme = (DATA_FILE.parent / "README.md").read_text(encoding="utf-8")
    assert "communes-france.csv" in readme and "Licence Ouverte" in readme and "CC BY 4.0" in readme


@pytest.mark.django_db
def test_s2_public_search_runs_in_another_region(client, settings):
    assert switch_region(settings, "53") == Commune.objects.count() == 1202  # the communes of Bretagne
    assert set(Commune.objects.values_list("departement", flat=True)) == {"22", "29", "35", "56"}
    offer = OfferBuilder()
    today = datetime.date.today()
    offer.formation(
        "Cuisinier",
        sessions=[
            {
                "point": RENNES,
                "ville": "Rennes",
                "code_postal": "35000",
                "code_insee": "35238",
                "debut": today + datetime.timedelta(days=20),
                "fin": today + datetime.timedelta(days=200),
            }
        ],
    )
    page = client.get(reverse("public:search"), {"q": "cuisinier", "lieu": "Rennes (35000)", "rayon": "30"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "Cuisinier" in html and "Formation Bretagne" in html and "Formation Centre-Val de Loire" not in html
    assert "Région<br>Bretagne" in html
    assert (
        '<option value="Rennes (35000)"></option>'
        in client.get(reverse("public:communes"), {"lieu": "renn"}).content.decode()
    )
    # a town of another region is not one of this instance's
    refused = client.get(reverse("public:search"), {"lieu": "Châteauroux (36000)"}).content.decode()
    assert "Commune inconnue en Bretagne" in refused


@pytest.mark.django_db
def test_s2_national_instance_searches_every_region(client, settings):
    assert switch_region(settings, "FR") == 34875
    offer = OfferBuilder()
    offer.formation(
        "Soudeur", sessions=[{"point": RENNES, "ville": "Rennes", "code_postal": "35000", "code_insee": "35238"}]
    )
    offer.formation("Soudeur", sessions=[{}])  # Châteauroux (the builder's default place)
    near_rennes = client.get(reverse("public:search"), {"q": "soudeur", "lieu": "Rennes (35000)", "rayon": "30"})
    near_chateauroux = client.get(
        reverse("public:search"), {"q": "soudeur", "lieu": "Châteauroux (36000)", "rayon": "30"}
    )
    for response, town in ((near_rennes, "Rennes"), (near_chateauroux, "Châteauroux")):
        html = response.content.decode()
        assert response.status_code == 200 and "Soudeur" in html and "Commune inconnue" not in html, town
        assert "Formation France" in html


def test_s2_nda_region_follows_the_instance(settings):
    assert nda_is_in_region("24450381245") and not nda_is_in_region("53350381245")
    settings.REGION = get_region("FR")
    assert nda_is_in_region("53350381245") and nda_is_in_region("24450381245")
    assert not nda_is_in_region("99350381245")


def _bretagne(settings):
    region = get_region("53")
    settings.REGION = region
    settings.REGION_CODE = region.code
    settings.REGION_NAME = region.name
    settings.REGION_DEPARTEMENTS = list(region.departements)
    settings.PUBLIC_SITE_NAME = "Formation Bretagne"
    settings.CARIF_NAME = "GREF Bretagne"
    settings.CARIF_ADDRESS = "91 rue de Saint-Brieuc, 35000 Rennes"
    settings.CARIF_EMAIL = "offre@gref-bretagne.example"
    settings.CARIF_PHONE = "02 99 00 00 00"
    settings.RECTORAT_NAME = settings.RECTORAT_PHONE = ""


@pytest.mark.django_db
def test_s2_no_page_names_centre_val_de_loire_in_another_region(client, settings):
    """The region's name, its Carif-Oref and their contact details come from the settings on
    every page that names them (account request, legal notice, personal data, accessibility,
    footer, « hors région » rules), not from Centre-Val de Loire's."""
    _bretagne(settings)
    pages = [
        reverse("users:account_request"),
        reverse("legal"),
        reverse("personal_data"),
        reverse("accessibility"),
    ]
    for url in pages:
        html = client.get(url).content.decode()
        assert "Centre-Val de Loire" not in html and "alfacentre" not in html and "Orléans" not in html, url
        assert "GREF Bretagne" in html or "Bretagne" in html, url
    legal = client.get(reverse("legal")).content.decode()
    assert "91 rue de Saint-Brieuc" in legal and "offre@gref-bretagne.example" in legal
    assert "la DREETS Bretagne" in client.get(reverse("users:account_request")).content.decode()
    form = AccountRequestForm(data={"nda": "24450381245"})
    assert not form.is_valid()
    assert "hors région Bretagne" in form.errors["convention_file"][0]


def test_s2_distance_rule_names_the_instance_region(settings):
    from ofeli.formations.enums import ModaliteEnseignement
    from ofeli.formations.rules import distance_problem

    class Outside:
        nda_in_region = False

    _bretagne(settings)
    message = distance_problem(ModaliteEnseignement.DISTANCE, Outside())
    assert "DREETS Bretagne" in message and "commençant par 53" in message
    settings.REGION = get_region("FR")
    assert "délivré en France" in distance_problem(ModaliteEnseignement.DISTANCE, Outside())


@pytest.mark.django_db
def test_s2_place_field_knows_the_departements_and_the_name_of_the_instance(settings):
    """P2 on any instance: a département or the region typed in the place field applies the
    département (or area) filter of that instance, not Centre-Val de Loire's."""
    from ofeli.public.communes import departement_of, resolve_place

    assert departement_of("Indre") == "36" and departement_of("Finistère") == ""
    assert resolve_place("Centre-Val de Loire").region
    _bretagne(settings)
    assert [departement_of(t) for t in ("Finistère", "29", "département du Morbihan", "Indre")] == [
        "29",
        "29",
        "56",
        "",
    ]
    assert resolve_place("Bretagne").region and not resolve_place("Centre-Val de Loire").region
    assert resolve_place("Ille-et-Vilaine (35)").departement_label == "Ille-et-Vilaine (35)"
    settings.REGION = get_region("FR")
    assert [departement_of(t) for t in ("Corse-du-Sud", "2A", "974", "La Réunion", "Indre")] == [
        "2A",
        "2A",
        "974",
        "974",
        "36",
    ]
    assert resolve_place("France").region
