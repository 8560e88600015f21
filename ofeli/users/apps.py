from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "ofeli.users"
    verbose_name = "Comptes"
