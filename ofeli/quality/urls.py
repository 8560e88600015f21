from django.urls import path

from . import views

app_name = "quality"

urlpatterns = [
    path("qualite/certifications/", views.certifications_to_check, name="certifications"),
    path("qualite/formations/<str:reference>/remplacer-certification/", views.replace, name="replace"),
    path("qualite/formations/<str:reference>/preparation/", views.readiness_panel, name="readiness"),
    path(
        "qualite/formations/<str:reference>/sessions/<str:session_reference>/preparation/",
        views.readiness_panel,
        name="session_readiness",
    ),
    path("carif/qualite/", views.dashboard, name="overview"),
    path("carif/qualite/<slug:slug>/", views.check_list, name="check"),
]
