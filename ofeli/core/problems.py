from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """A rule that blocks « Soumettre pour validation », shown with a link to the field.

    ``target`` names what to open: "formation", "structure" or a session's Numéro CARIF;
    ``field`` is the form field name (the HTML id is ``id_<field>``)."""

    message: str
    target: str = "formation"
    field: str = ""
    section: str = ""
