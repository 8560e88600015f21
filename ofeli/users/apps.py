from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "ofeli.users"
    verbose_name = "Comptes"

    def ready(self):
        from . import sessions  # noqa: F401 - the staff session rules (user_logged_in)
