from django.urls import include, path

from ofeli.api.api import api
from ofeli.core import views as core
from ofeli.core.health import health
from ofeli.structures import views as structures

handler400 = "ofeli.core.views.error_400"
handler403 = "ofeli.core.views.error_403"
handler404 = "ofeli.core.views.error_404"
handler500 = "ofeli.core.views.error_500"

ofeli_patterns = [
    path("", core.dashboard, name="dashboard"),
    path("espace-structure/", core.choose_structure, name="choose_structure"),
    path("espace-structure/choisir/", core.set_structure, name="set_structure"),
    path("", include("ofeli.users.urls")),
    path("structures/", include("ofeli.structures.urls")),
    path("adresses/", structures.address_suggestions, name="address_suggestions"),
    path("formations/", include("ofeli.formations.urls")),
    path("exports/", include("ofeli.exports.urls")),
    path("carif/demandes/", include("ofeli.workflow.urls")),
    path("carif/api/", include("ofeli.api.urls")),
    path("", include("ofeli.quality.urls")),
    path("carif/mails-non-envoyes/", include("ofeli.mails.urls")),  # R4
    path("carif/", include("ofeli.backoffice.urls")),
    path("", include("ofeli.messaging.urls")),
]

urlpatterns = [
    path("api/v1/", api.urls),  # partner API (J1-J4), docs/api.md
    path("sante/", health, name="health"),  # monitoring (S1), see docs/deployment.md
    path("alertes/", include("ofeli.alerts.urls")),  # P5: e-mail alerts of the public site
    path("", include("ofeli.public.urls")),
    path("ofeli/", include(ofeli_patterns)),
    path(
        "donnees-personnelles/",
        core.page,
        {"template": "core/personal_data.html", "title": "Politique de gestion des données personnelles"},
        name="personal_data",
    ),
    path(
        "accessibilite/",
        core.page,
        {"template": "core/accessibility.html", "title": "Accessibilité"},
        name="accessibility",
    ),
    path("mentions-legales/", core.page, {"template": "core/legal.html", "title": "Mentions légales"}, name="legal"),
]
