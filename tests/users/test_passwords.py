import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from ofeli.users.passwords import OfeliPasswordValidator


@pytest.mark.parametrize("password", ["Formation!2026", "Abcdefg-", "ÉCOLE#123ab"])
def test_a4_password_accepted(password):
    OfeliPasswordValidator().validate(password)


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("Ab!1234", "password_too_short"),
        ("formation!2026", "password_no_upper"),
        ("Formation2026", "password_no_special"),
    ],
)
def test_a4_password_refused_with_french_message(password, code):
    with pytest.raises(ValidationError) as error:
        OfeliPasswordValidator().validate(password)
    assert code in [e.code for e in error.value.error_list]
    assert all("mot de passe" in e.message.lower() for e in error.value.error_list)


@pytest.mark.django_db
def test_a4_validators_are_configured():
    with pytest.raises(ValidationError):
        validate_password("motdepasse")
