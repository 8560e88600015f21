from django import template

from ofeli.quality.watch import label_of

register = template.Library()


@register.filter
def certification_code(certification):
    """« RNCP37949 », « RS5629 » or the Certifinfo code."""
    return label_of(certification) if certification else ""
