from django.urls import path

from . import views

app_name = "exports"

urlpatterns = [
    path("", views.create, name="create"),
    path("mes-exports/", views.panel, name="panel"),
    path("<int:pk>/telecharger/", views.download, name="download"),
    path("<int:pk>/relancer/", views.relaunch, name="relaunch"),
    path("partenaires/", views.partners, name="partners"),
    # Partner systems (token in « Authorization: Bearer <jeton> », never in the URL).
    path("flux/<str:version>/<str:kind>/", views.flow, name="flow"),
    # Any delta still kept, by its number (listed in the manifest), H2b.
    path("flux/<str:version>/modifications/<int:sequence>/", views.flow_delta, name="flow_delta"),
]
