from django.apps import AppConfig


class ApiConfig(AppConfig):
    """Partner API (J1-J4): the published offer as a read-only JSON API under /api/v1/."""

    name = "ofeli.api"
    label = "api"
    verbose_name = "API partenaires"

    def ready(self):
        from . import receivers  # noqa: F401
