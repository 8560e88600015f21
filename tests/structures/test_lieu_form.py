"""F6 LieuForm (used by the session screen): its fields, hidden geolocation included,
belong to the session's form even when drawn outside it."""

import re

import pytest

from ofeli.structures.forms import LieuForm

pytestmark = pytest.mark.django_db


def test_f6_lieu_form_hidden_geolocation_belongs_to_the_session_form():
    html = LieuForm(form_id="session-form").as_div() + str(LieuForm(form_id="session-form"))
    for name in ("lieu-code_insee", "lieu-latitude", "lieu-longitude", "lieu-adresse", "lieu-nom"):
        tags = re.findall(rf'<input[^>]*name="{name}"[^>]*>', html)
        assert tags and all('form="session-form"' in tag for tag in tags), name


def test_f6_lieu_form_keeps_the_ban_geolocation():
    form = LieuForm(
        {
            "lieu-nom": "AFPA de Tours",
            "lieu-adresse": "56 Avenue du Danemark",
            "lieu-code_postal": "37100",
            "lieu-ville": "Tours",
            "lieu-code_insee": "37261",
            "lieu-latitude": "47.419900",
            "lieu-longitude": "0.694400",
        }
    )
    assert form.is_valid(), form.errors
    assert str(form.cleaned_data["latitude"]) == "47.419900"
