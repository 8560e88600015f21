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


@register.inclusion_tag("quality/_offer_quality.html", takes_context=True)
def offer_quality(context, ctx, sv=None):
    """Q1 and Q3 on the formation page (``sv`` None) or a session page: the certification
    alerts of the open flags and the LHEO / partner readiness panel of the version shown."""
    from ofeli.quality import readiness

    request = context.get("request")
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "alerts": readiness.certification_alerts(ctx, sv),
        "panel": readiness.panel(request, ctx, sv, shown=_shown_sessions(context, sv)),
        "formation": ctx.formation,
        "page": "formation" if sv is None else "session",
    }


def _shown_sessions(context, sv):
    """On the formation page, the Numéros CARIF of its sessions list (filtered by
    « Rechercher »), whose details the panel follows; None elsewhere."""
    sessions = context.get("sessions")
    if sv is not None or sessions is None or not context.get("sessions_query"):
        return None
    return {s.session.reference for s in sessions}
