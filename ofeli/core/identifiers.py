"""Checks of the national identifiers an OF gives (SPEC A6).

SIRET/SIREN use python-stdnum (which knows La Poste's exception: SIREN 356000000, whose
establishments do not follow the Luhn key). NDA and UAI are checked here.
Every check raises ``ValidationError`` with a French message meant for the field.
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

from .regions import REGIONS

_DIGITS = re.compile(r"\s+")


def compact(value):
    return _DIGITS.sub("", value or "")


def validate_siret(value):
    value = compact(value)
    if not value.isdigit() or len(value) != 14:
        raise ValidationError("Le SIRET doit comporter exactement 14 chiffres.", code="siret_format")
    try:
        stdnum_siret.validate(value)
    except StdnumError as exc:
        raise ValidationError(
            "Ce SIRET n'est pas valide : sa clé de contrôle est fausse. Vérifiez les 14 chiffres.",
            code="siret_key",
        ) from exc
    return value


def siren_of(siret):
    """SIREN = the first 9 digits of the SIRET."""
    return compact(siret)[:9]


def validate_siren(value):
    value = compact(value)
    if not value.isdigit() or len(value) != 9:
        raise ValidationError("Le SIREN doit comporter exactement 9 chiffres.", code="siren_format")
    try:
        stdnum_siren.validate(value)
    except StdnumError as exc:
        raise ValidationError("Ce SIREN n'est pas valide (clé de contrôle).", code="siren_key") from exc
    return value


def validate_nda(value, *, region=None):
    """NDA (numéro de déclaration d'activité): 11 digits, the first two the region code,
    the next two the département. With ``region`` given (our region, "24"), an NDA of
    another region is refused; without it any region is accepted. In our region the
    département digits must be one of its départements (``settings.REGION_DEPARTEMENTS``)."""
    value = compact(value)
    if not value.isdigit() or len(value) != 11:
        raise ValidationError(
            "Le numéro de déclaration d'activité doit comporter exactement 11 chiffres.",
            code="nda_format",
        )
    # Digits 3-4 name the département of the DREETS.
    region_code, departement = value[:2], value[2:4]
    if region is not None and region_code != region:
        raise ValidationError(
            f"Ce numéro de déclaration d'activité n'a pas été délivré en région {settings.REGION_NAME} : "
            f"il doit commencer par {region}.",
            code="nda_region",
        )
    # S2: the départements of the NDA's region when it is one of this instance's regions.
    own = REGIONS[region_code][1] if settings.REGION.has_nda_region(region_code) else ()
    if own and all(d.isdigit() and len(d) == 2 for d in own) and departement not in own:
        raise ValidationError(
            f"Les chiffres 3 et 4 du numéro de déclaration d'activité ({departement}) ne sont pas "
            f"un département de la région {region_code}.",
            code="nda_departement",
        )
    return value


def nda_is_in_region(value):
    """True for an NDA delivered in the instance's region (any French region, nationally)."""
    return settings.REGION.has_nda_region(compact(value)[:2])


_UAI_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"  # 23 letters: I, O and Q are never used


def uai_check_letter(seven):
    """Check letter of a UAI: the 7 first characters read as a number (a Corsican 2A/2B
    département counts as 20), modulo 23, gives the letter."""
    digits = seven.upper().replace("2A", "20").replace("2B", "20")
    return _UAI_LETTERS[int(digits) % 23]


def validate_uai(value):
    value = compact(value).upper()
    if not re.fullmatch(r"(\d{7}|02[AB]\d{4})[A-Z]", value):
        raise ValidationError(
            "Le code UAI comporte 7 caractères suivis d'une lettre de contrôle (exemple : 0370035M).",
            code="uai_format",
        )
    if uai_check_letter(value[:7]) != value[7]:
        raise ValidationError("Ce code UAI n'est pas valide : la lettre de contrôle ne correspond pas.", code="uai_key")
    return value
