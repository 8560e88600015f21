from django.apps import AppConfig


class PublicConfig(AppConfig):
    name = "ofeli.public"
    verbose_name = "Site public"

    def ready(self):
        from . import receivers  # noqa: F401
