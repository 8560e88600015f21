from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "ofeli.messaging"
    verbose_name = "Messagerie et mémos"
