"""A test page built as docs/structures.md tells the session screen to use the address
partials: LieuForm fields prefixed ``lieu-`` outside a form of id ``session-form``."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.template import engines
from django.urls import path

from config.urls import urlpatterns as project_urlpatterns
from ofeli.structures.forms import LieuForm

PAGE = """{% extends "layouts/app.html" %}{% load l10n %}{% block content %}
<h1>Créer un nouveau lieu de formation</h1>
<form method="post" id="session-form" novalidate>{% csrf_token %}</form>
{% include "core/address_search.html" with prefix="lieu-" form_id="session-form" %}
{{ lieu_form }}
{% include "core/address_locate.html" with prefix="lieu-" form_id="session-form" locate_action="locate_place" %}
<button form="session-form" class="fr-btn" name="action" value="create_place" type="submit">Sauvegarder et choisir</button>
{% if saved %}<p id="saved">{{ saved.adresse }}|{{ saved.code_postal }}|{{ saved.ville }}|{{ saved.code_insee }}|{{ saved.latitude|unlocalize }}|{{ saved.longitude|unlocalize }}</p>{% endif %}
{% endblock %}"""


@login_required
def lieu_page(request):
    form = LieuForm(request.POST or None, form_id="session-form")
    saved = form.cleaned_data if request.method == "POST" and form.is_valid() else None
    template = engines["django"].from_string(PAGE)
    return HttpResponse(template.render({"lieu_form": form, "saved": saved}, request))


urlpatterns = [path("essai-lieu/", lieu_page), *project_urlpatterns]
