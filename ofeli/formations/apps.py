from django.apps import AppConfig


class FormationsConfig(AppConfig):
    name = "ofeli.formations"
    verbose_name = "Formations et sessions"
