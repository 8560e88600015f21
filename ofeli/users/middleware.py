"""Keeps the user's current « Espace structure » in the session (B2).

``request.current_structure`` is the structure every OF screen is scoped to, or None.
A user with rights on exactly one structure gets it without choosing."""

from .perms import accessible_structures

SESSION_KEY = "current_structure_id"


def set_current_structure(request, structure):
    request.session[SESSION_KEY] = structure.pk
    request.current_structure = structure


def _current_structure(request):
    user = request.user
    if not user.is_authenticated:
        return None
    structures = accessible_structures(user).select_related("live_version")
    structure_id = request.session.get(SESSION_KEY)
    if structure_id:
        structure = structures.filter(pk=structure_id).first()
        if structure:
            return structure
        request.session.pop(SESSION_KEY, None)
    if user.is_carif:
        return None
    first_two = list(structures[:2])
    if len(first_two) == 1:
        request.session[SESSION_KEY] = first_two[0].pk
        return first_two[0]
    return None


class CurrentStructureMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.current_structure = _current_structure(request)
        return self.get_response(request)
