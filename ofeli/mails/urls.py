from django.urls import path

from . import views

app_name = "mails"

urlpatterns = [
    path("", views.unsent, name="unsent"),
    path("renvoyer/", views.resend_all, name="resend_all"),
    path("<int:pk>/renvoyer/", views.resend, name="resend"),
]
