from django import template

from ofeli.formations.enums import RythmeCode

register = template.Library()


@register.filter
def get_item(mapping, key):
    return mapping.get(key, "")


@register.filter
def rythme(code):
    """« 30 » → « Temps plein »."""
    try:
        return RythmeCode(code).label.split(" - ", 1)[-1]
    except ValueError:
        return code


@register.filter
def dmy(day):
    """A date as « 04/12/2026 », like ``|date:"d/m/Y"`` for a date (not a datetime) but without
    Django's format parser: a results page writes about 120 of them (S3, public search CPU)."""
    if not day:
        return ""
    return f"{day.day:02d}/{day.month:02d}/{day.year}"
