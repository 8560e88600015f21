from django.urls import path

from . import views

app_name = "quality"

urlpatterns = [
    path("qualite/certifications/", views.certifications_to_check, name="certifications"),
    path("qualite/formations/<str:reference>/remplacer-certification/", views.replace, name="replace"),
    path("carif/qualite/", views.dashboard, name="overview"),
    path("carif/qualite/<slug:slug>/", views.check_list, name="check"),
]
