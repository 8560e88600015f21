"""Keeps the user's current « Espace structure » in the session (B2).

``request.current_structure`` is the structure every OF screen is scoped to, or None.
A user with rights on exactly one structure gets it without choosing."""

SESSION_KEY = "current_structure_id"


def set_current_structure(request, structure):
    request.session[SESSION_KEY] = structure.pk
    request.current_structure = structure


def _current_structure(request):
    from ofeli.structures.models import Structure

    user = request.user
    if not user.is_authenticated:
        return None
    structure_id = request.session.get(SESSION_KEY)
    if user.is_carif:
        if structure_id:
            return Structure.objects.filter(pk=structure_id).select_related("live_version").first()
        return None
    memberships = Structure.objects.filter(memberships__user=user).select_related("live_version")
    if structure_id:
        structure = memberships.filter(pk=structure_id).first()
        if structure:
            return structure
        request.session.pop(SESSION_KEY, None)
    first_two = list(memberships[:2])
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
