from django.apps import AppConfig


class ReferentialsConfig(AppConfig):
    name = "ofeli.referentials"
    verbose_name = "Référentiels"
