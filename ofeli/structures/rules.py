"""Rules of the structure record (SPEC C1, C4, C6).

``structure_problems(version)`` lists what blocks « Soumettre pour validation » (called by
``workflow.rules.problems_of``); each Problem names the field (HTML id ``id_<field>``) and
the tab (``section``) so that the page links to it. A draft may be saved half-complete:
the rules are checked in full at submission.

``structure_warnings(version)`` lists what is advised but never blocks (the BAN may be
down, a structure may have no contact yet)."""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from ofeli.core.problems import Problem

ADDRESS_PARTS = (("adresse", "le numéro et la voie"), ("code_postal", "le code postal"), ("ville", "la ville"))


def _phone_ok(value):
    from .forms import normalize_phone

    try:
        normalize_phone(value)
    except ValidationError:
        return False
    return True


def _coordonnees(message, field):
    """A problem of the « Coordonnées » tab, linked to its field."""
    return Problem(message, target="structure", field=field, section="coordonnees")


def structure_problems(version):
    problems = []
    missing = [(field, words) for field, words in ADDRESS_PARTS if not getattr(version, field)]
    if missing:
        problems.append(
            _coordonnees(
                "L'adresse de la structure est incomplète : indiquez " + ", ".join(w for _, w in missing) + ".",
                missing[0][0],
            )
        )
    if version.code_postal and not (version.code_postal.isdigit() and len(version.code_postal) == 5):
        problems.append(_coordonnees("Le code postal comporte 5 chiffres.", "code_postal"))
    if version.site_web and not version.site_web.lower().startswith("https://"):
        problems.append(_coordonnees("L'adresse du site web doit commencer par https://.", "site_web"))
    if version.email:
        try:
            validate_email(version.email)
        except ValidationError:
            problems.append(_coordonnees("L'e-mail principal n'est pas une adresse valide.", "email"))
    for field, label in (("telephone", "téléphone principal"), ("telephone_secondaire", "autre téléphone")):
        value = getattr(version, field)
        if value and not _phone_ok(value):
            problems.append(
                _coordonnees(f"Le numéro du {label} n'est pas valide (10 chiffres, exemple : 02 38 77 83 35).", field)
            )
    return problems


def structure_warnings(version, *, has_principal_contact=True):
    """Advice shown while editing; never blocks the submission."""
    warnings = []
    if version.adresse and version.latitude is None:
        warnings.append(
            _coordonnees(
                "L'adresse n'est pas géolocalisée : choisissez-la dans « Rechercher une adresse » ou cliquez sur "
                "« Localiser l'adresse ».",
                "adresse",
            )
        )
    if not version.telephone:
        warnings.append(
            _coordonnees(
                "Pensez à préciser le téléphone principal, pour optimiser l'affichage sur les sites.", "telephone"
            )
        )
    if not version.email:
        warnings.append(
            _coordonnees("Pensez à préciser l'e-mail principal, pour optimiser l'affichage sur les sites.", "email")
        )
    if not has_principal_contact:
        warnings.append(
            Problem(
                "La structure n'a pas de contact principal : désignez la personne responsable de l'établissement.",
                target="structure",
                section="contacts",
            )
        )
    return warnings
