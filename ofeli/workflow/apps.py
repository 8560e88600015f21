from django.apps import AppConfig


class WorkflowConfig(AppConfig):
    name = "ofeli.workflow"
    verbose_name = "Demandes de modification"

    def ready(self):
        from . import guards

        guards.connect()
