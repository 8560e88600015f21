"""SPEC A6: identifier checks, with a clear French message and never a crash."""

import pytest
from django.core.exceptions import ValidationError

from ofeli.core.identifiers import (
    siren_of,
    uai_check_letter,
    validate_nda,
    validate_siren,
    validate_siret,
    validate_uai,
)


@pytest.mark.parametrize("siret", ["21860076500018", "43256884800027", "218 600 765 00018"])
def test_a6_valid_siret(siret):
    assert validate_siret(siret) == siret.replace(" ", "")


@pytest.mark.parametrize(
    ("siret", "code"),
    [
        ("21860076500019", "siret_key"),  # wrong Luhn key
        ("2186007650001", "siret_format"),  # 13 digits
        ("218600765000180", "siret_format"),  # 15 digits
        ("2186007650001A", "siret_format"),
        ("", "siret_format"),
    ],
)
def test_a6_invalid_siret_has_french_message(siret, code):
    with pytest.raises(ValidationError) as error:
        validate_siret(siret)
    assert error.value.code == code
    assert "SIRET" in error.value.message


def test_a6_la_poste_siret_is_accepted_despite_luhn():
    """La Poste (SIREN 356000000) establishments do not follow the Luhn key: the sum of the
    digits is a multiple of 5 instead."""
    siret = "35600000049837"
    digits = [int(c) for c in siret]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    assert total % 10 != 0  # would fail a plain Luhn check
    assert validate_siret(siret) == siret


def test_a6_la_poste_siret_with_bad_sum_is_refused():
    with pytest.raises(ValidationError):
        validate_siret("35600000049838")


def test_a6_siren_is_first_nine_digits():
    assert siren_of("21860076500018") == "218600765"
    assert validate_siren("218600765") == "218600765"
    with pytest.raises(ValidationError):
        validate_siren("218600766")


def test_a6_nda_valid_in_region():
    assert validate_nda("24370369337", region="24") == "24370369337"
    assert validate_nda("24 45 04034 45") == "24450403445"


def test_a6_nda_of_another_region_refused_when_region_required():
    with pytest.raises(ValidationError) as error:
        validate_nda("75331044933", region="24")
    assert error.value.code == "nda_region"
    assert "24" in error.value.message
    # accepted as an NDA of its own region (out-of-region OF, A1)
    assert validate_nda("75331044933") == "75331044933"


def test_a6_nda_with_departement_outside_region_refused():
    with pytest.raises(ValidationError) as error:
        validate_nda("24750369337")
    assert error.value.code == "nda_departement"


@pytest.mark.parametrize("nda", ["2437036933", "243703693371", "24A70369337", ""])
def test_a6_nda_format(nda):
    with pytest.raises(ValidationError) as error:
        validate_nda(nda)
    assert error.value.code == "nda_format"


@pytest.mark.parametrize("uai", ["0750655E", "0370035M", "0180005H", "0370035m"])
def test_a6_valid_uai(uai):
    assert validate_uai(uai) == uai.upper()


def test_a6_uai_wrong_key():
    with pytest.raises(ValidationError) as error:
        validate_uai("0750655F")
    assert error.value.code == "uai_key"


@pytest.mark.parametrize("uai", ["075065E", "07506551", "ABCDEFGH", ""])
def test_a6_uai_format(uai):
    with pytest.raises(ValidationError) as error:
        validate_uai(uai)
    assert error.value.code == "uai_format"


def test_a6_uai_corsica():
    letter = uai_check_letter("02A0001")
    assert validate_uai("02A0001" + letter)
