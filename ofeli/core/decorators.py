from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect

from ofeli.users.perms import is_carif, is_superviseur


def _user_passes(check):
    """Anonymous visitors go to the login page; users who fail ``check`` get 403."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not check(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


carif_required = _user_passes(is_carif)  # staff screens
superviseur_required = _user_passes(is_superviseur)


def structure_required(view):
    """OF screens scoped to the current « Espace structure » (B2)."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.current_structure is None:
            return redirect("choose_structure")
        return view(request, *args, **kwargs)

    return wrapper
