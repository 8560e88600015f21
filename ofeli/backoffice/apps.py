from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "ofeli.backoffice"
    verbose_name = "Back-office du Carif"
