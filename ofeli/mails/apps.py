from django.apps import AppConfig


class MailsConfig(AppConfig):
    name = "ofeli.mails"
    verbose_name = "Mails envoyés"
