from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data (load_demo) and the bulk offer generator (generate_offer): not domain code.

    Domain apps never import this package; it imports them.
    """

    name = "ofeli.demo"
    label = "demo"
    verbose_name = "Données de démonstration"
