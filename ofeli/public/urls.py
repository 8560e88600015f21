from django.contrib.sitemaps.views import sitemap
from django.urls import path

from . import views
from .sitemaps import SITEMAPS

app_name = "public"

urlpatterns = [
    path("", views.search, name="search"),
    path("communes/", views.communes, name="communes"),
    path("communes/positions.json", views.communes_positions, name="communes_positions"),
    path("formation/<str:reference>/", views.formation_detail, name="formation_short"),
    path("formation/<str:reference>/<slug:slug>/", views.formation_detail, name="formation"),
    path("organisme/<str:reference>/", views.organisme, name="organisme"),
    path("plan-du-site/", views.site_plan, name="plan"),
    path("sitemap.xml", sitemap, {"sitemaps": SITEMAPS}, name="sitemap"),
    path("robots.txt", views.robots, name="robots"),
]
