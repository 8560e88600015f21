from django.apps import AppConfig


class StructuresConfig(AppConfig):
    name = "ofeli.structures"
    verbose_name = "Structures"
