from django.apps import AppConfig


class QualityConfig(AppConfig):
    """Offer quality (Q1, Q4): certification watch and the Carif's quality dashboard."""

    name = "ofeli.quality"
    label = "quality"
    verbose_name = "Qualité de l'offre"
