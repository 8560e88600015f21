from django.urls import path

from . import views

app_name = "alerts"

urlpatterns = [
    path("", views.manage_request, name="manage_request"),
    path("lien-envoye/", views.manage_requested, name="manage_requested"),
    path("creer/", views.create, name="create"),
    path("demande-enregistree/", views.requested, name="requested"),
    path("confirmer/<str:token>/", views.confirm, name="confirm"),
    path("desinscription/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("gerer/<str:token>/", views.manage, name="manage"),
]
