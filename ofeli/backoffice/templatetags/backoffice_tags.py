"""Carif panels shown on the formation and structure pages (included for staff only by
``templates/backoffice/_formation_actions.html`` and ``_structure_actions.html``)."""

from django import template

from ofeli.backoffice.queries import unread_counts
from ofeli.workflow.services import open_change_request

register = template.Library()


@register.inclusion_tag("backoffice/_formation_panel.html", takes_context=True)
def formation_actions(context, formation):
    live = formation.live_version
    sessions = (
        list(live.sessions.select_related("session").order_by("date_debut", "session__reference")) if live else []
    )
    return {
        "formation": formation,
        "sessions": sessions,
        "open_change": open_change_request(formation=formation),
        "csrf_token": context.get("csrf_token"),
        "user": context.get("user"),
    }


@register.inclusion_tag("backoffice/_structure_panel.html", takes_context=True)
def structure_actions(context, structure):
    return {
        "structure": structure,
        "open_change": open_change_request(structure=structure),
        "counts": unread_counts(structure),
        "csrf_token": context.get("csrf_token"),
        "user": context.get("user"),
    }
