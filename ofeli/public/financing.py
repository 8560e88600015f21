"""Financing kinds of the public search, from the F8 financing rows of a session.

Only rows in state « DI - Diffusion » count. Mapping (referential codes, see
``ofeli/referentials/data/dispositifs.json`` and ``financeurs.json``):

| Kind (filter)             | Dispositifs                         | or financeur                 |
|---------------------------|-------------------------------------|------------------------------|
| France Travail            | AFC01, AFC02, AFC03, POE01          | 98014 (LHEO financeur 4)     |
| Région                    | CRS01, PRF01, PRF02, PRF03          | 98010 (LHEO financeur 2)     |
| Apprentissage             | AOP02                               |                              |
| Contrat de professionnalisation | AOP03                         |                              |
| Financement individuel    | CPR02 (particulier, employeur, AIF) |                              |
| Voie scolaire             | SCO01, SCO02                        |                              |
| CPF                       | CPF01 (« Compte personnel de formation (CPF) »), and any dispositif whose code starts with « CPF » |

Every kind says only what the OF (or the Carif) entered (SPEC P1): nothing is inferred. In
particular a session financed « individuel » (CPR02) is not shown as CPF, even when its
formation is certifying: CPF appears only where a CPF financing row is entered.

The AIF (aide individuelle à la formation of France Travail) is entered as CPR02 (guide,
« Financement de la session »): it appears under « Financement individuel ».
"""

from django.conf import settings

KINDS = [
    ("france_travail", "France Travail"),
    ("region", "Conseil régional" if settings.REGION.national else f"Région {settings.REGION_NAME}"),  # S2
    ("cpf", "Compte personnel de formation (CPF)"),
    ("apprentissage", "Apprentissage"),
    ("professionnalisation", "Contrat de professionnalisation"),
    ("individuel", "Financement individuel ou employeur"),
    ("scolaire", "Voie scolaire"),
]
LABELS = dict(KINDS)
SHORT_LABELS = {
    "france_travail": "France Travail",
    "region": "Région",
    "cpf": "CPF",
    "apprentissage": "Apprentissage",
    "professionnalisation": "Contrat pro",
    "individuel": "Individuel / employeur",
    "scolaire": "Voie scolaire",
}

BY_DISPOSITIF = {
    "AFC01": "france_travail",
    "AFC02": "france_travail",
    "AFC03": "france_travail",
    "POE01": "france_travail",
    "CRS01": "region",
    "PRF01": "region",
    "PRF02": "region",
    "PRF03": "region",
    "AOP02": "apprentissage",
    "AOP03": "professionnalisation",
    "CPR02": "individuel",
    "SCO01": "scolaire",
    "SCO02": "scolaire",
}
BY_FINANCEUR = {"98014": "france_travail", "98010": "region"}
BY_LHEO_FINANCEUR = {"4": "france_travail", "2": "region"}


def kind_of(dispositif_code, financeur_code="", lheo_code=""):
    if dispositif_code in BY_DISPOSITIF:
        return BY_DISPOSITIF[dispositif_code]
    if (dispositif_code or "").upper().startswith("CPF"):
        return "cpf"
    return BY_FINANCEUR.get(financeur_code) or BY_LHEO_FINANCEUR.get(lheo_code)


def kinds_of(financements):
    """Set of kinds of ``(dispositif code, financeur code, financeur LHEO code)`` rows."""
    return {kind_of(*row) for row in financements} - {None}


def field(kind):
    return f"fin_{kind}"
