"""« Créer une alerte » on the public results page (P5): a plain link to the alert form
with the current criteria, so it works without JavaScript and follows htmx swaps."""

from urllib.parse import urlencode

from django import template
from django.conf import settings
from django.urls import reverse

from ofeli.alerts.criteria import FIELDS

register = template.Library()


@register.inclusion_tag("alerts/_create_button.html", takes_context=True)
def alert_button(context):
    request, results = context.get("request"), context.get("results")
    if request is None or results is None or results.refused or (results.place and results.place.error):
        return {"show": False}
    pairs = [(key, value) for key, values in request.GET.lists() if key in FIELDS for value in values if value]
    if results.corrected_from and results.used_text:  # the words the results were found with
        pairs = [(k, v) for k, v in pairs if k != "q"] + [("q", results.used_text)]
    if not any(key != "rayon" for key, _ in pairs):  # a radius alone is no criterion
        return {"show": False}
    return {"show": True, "url": reverse("alerts:create") + "?" + urlencode(pairs)}


@register.simple_tag
def alert_confirm_days():
    """Days an unconfirmed alert is kept (« Données personnelles »)."""
    return settings.ALERT_CONFIRM_DAYS
