"""What a browser posts from a loaded editing page (R1, R2 tests)."""

import html

from django.forms import CheckboxInput
from django.test import Client


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def page_data(response, **overrides):
    """Every field of the page's form with the value shown, and the hidden revision."""
    form = response.context["form"]
    data = {}
    for bound in form:
        value = bound.value()
        if isinstance(bound.field.widget, CheckboxInput):
            if value:
                data[bound.html_name] = "on"
            continue
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            data[bound.html_name] = [str(v) for v in value]
        else:
            data[bound.html_name] = str(value)
    data["draft_revision"] = str(response.context["draft_revision"])
    data.update(overrides)
    return data


def text(response):
    return html.unescape(response.content.decode())
