from django import template

from ofeli.quality.watch import label_of

register = template.Library()


@register.filter
def certification_code(certification):
    """« RNCP37949 », « RS5629 » or the Certifinfo code."""
    return label_of(certification) if certification else ""


@register.inclusion_tag("quality/_transmission.html", takes_context=True)
def transmission_status(context, session):
    """Q2: the transmission status of ``session`` (a Session) from the flow runs' records."""
    from ofeli.quality.transmission import transmission_status as status_of

    return {"status": status_of(session, context.get("request"))}
