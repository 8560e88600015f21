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
