from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "ofeli.alerts"
    verbose_name = "Alertes du site public"

    def ready(self):
        from . import receivers  # noqa: F401
