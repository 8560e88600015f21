from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect


def carif_required(view):
    """Staff screens: anonymous visitors go to the login page, OF users get 403."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_carif:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def superviseur_required(view):
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_superviseur:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def structure_required(view):
    """OF screens scoped to the current « Espace structure » (B2)."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.current_structure is None:
            return redirect("choose_structure")
        return view(request, *args, **kwargs)

    return wrapper
