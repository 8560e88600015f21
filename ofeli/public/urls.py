from django.urls import path

from . import views

app_name = "public"

urlpatterns = [
    path("", views.search, name="search"),
    path("formation/<str:reference>/", views.formation_detail, name="formation_short"),
    path("formation/<str:reference>/<slug:slug>/", views.formation_detail, name="formation"),
    path("organisme/<str:reference>/", views.organisme, name="organisme"),
]
