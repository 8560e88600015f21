"""LHEO code tables (dictionaries of the LHEO 2.3 standard, shipped in data/).

They are fixed by the standard, so they live in code, not in the database: forms use
``choices("dict-type-contact")`` and templates ``label("dict-type-contact", "5")``."""

import json
from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data" / "lheo-tables-2.3.json"


@cache
def tables():
    return json.loads(DATA.read_text(encoding="utf-8"))


def entries(name):
    return [tuple(entry) for entry in tables()[name]["entries"]]


def choices(name, *, exclude=(), with_code=True):
    return [(code, f"{code} - {label}" if with_code else label) for code, label in entries(name) if code not in exclude]


def label(name, code):
    if code in (None, ""):
        return ""
    return dict(entries(name)).get(str(code), str(code))


def codes(name):
    return {code for code, _ in entries(name)}


# Table names, so that a typo is an AttributeError rather than a KeyError at run time.
TYPE_CONTACT = "dict-type-contact"
MODALITES_ENSEIGNEMENT = "dict-modalites-enseignement"
MODALITES_ES = "dict-modalites-es"
ETAT_RECRUTEMENT = "dict-etat-recrutement"
OBJECTIF_GENERAL = "dict-AIS"
PERIMETRE_RECRUTEMENT = "dict-perimetre-recrutement"
FINANCEURS = "dict-financeurs"
TYPE_PARCOURS = "dict-type-parcours"
MODALITE_RECRUTEMENT = "dict-modalite-recrutement"
TYPE_EQUIPEMENT = "dict-type-equipement"
TYPE_VALIDATION_BLOCS = "dict-type-validation-blocs"
TYPE_ALTERNANCE = "dict-type-alternance"
TYPE_CYCLE = "dict-type-cycle"
NIVEAUX = "dict-niveaux"

# The three recruitment modalities France Travail uses to position a job seeker (F13):
# information collective, entretien ou RDV individuel, inscription sur candidature.
FRANCE_TRAVAIL_RECRUITMENT_CODES = {"9", "8", "7"}
# What the screens show for dict-modalite-recrutement (issue 10): the guide's words, no code
# prefix (« Réunion d'information collective », not « 9 - information collective »). The codes
# stay what is stored and what the LHEO flows and the API write, with the table's own labels.
RECRUITMENT_MODALITY_LABELS = {
    "0": "Information inconnue",
    "1": "Méthode de recrutement par simulation",
    "2": "Concours",
    "3": "Dossier",
    "4": "Tests pratiques",
    "5": "Épreuves écrites",
    "6": "Épreuves orales",
    "7": "Inscription sur candidature",
    "8": "Rendez-vous individuel",
    "9": "Réunion d'information collective",
}
# Current (2019) nomenclature of levels: codes 11..18 = « Niveau 1 » .. « Niveau 8 ».
CURRENT_LEVEL_CODES = [str(c) for c in range(11, 19)]


def recruitment_modality_choices():
    """The recruitment modalities as the guide names them, in the order of the LHEO table."""
    return [(code, RECRUITMENT_MODALITY_LABELS.get(code, label)) for code, label in entries(MODALITE_RECRUTEMENT)]


def level_choices():
    """Niveaux offered at entry: the 2019 nomenclature, plus « sans niveau spécifique »."""
    short = {code: lbl.split(".")[0] for code, lbl in entries(NIVEAUX)}
    return [("1", "Sans niveau spécifique")] + [(c, short[c]) for c in CURRENT_LEVEL_CODES]
