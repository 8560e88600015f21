"""K1: a NUL character is never valid input (no text of the product may hold one and
PostgreSQL refuses it in any query: « A string literal cannot contain NUL »). A request that
carries one in its path, its query or its form — names, values or file names — is refused
as a bad request (400, « Requête incorrecte ») before any view runs."""

import logging

from django.core.exceptions import SuspiciousOperation
from django.http import JsonResponse


class NulCharacterInRequest(SuspiciousOperation):
    pass


def _has_nul(querydict):
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in querydict.lists())


class RejectNulMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or _has_nul(request.GET):
            return self._refuse(request, "NUL character in the URL")
        if request.method == "POST" and (
            _has_nul(request.POST) or any("\x00" in f.name for f in request.FILES.values())
        ):
            return self._refuse(request, "NUL character in the form")
        return self.get_response(request)

    @staticmethod
    def _refuse(request, reason):
        if request.path.startswith("/api/"):  # the partner API answers RFC 9457 problems (J2)
            logging.getLogger("django.security.NulCharacterInRequest").warning(reason)
            return JsonResponse(
                {
                    "type": "about:blank",
                    "title": "Paramètres invalides",
                    "status": 400,
                    "detail": "Vérifiez les paramètres : la requête contient un caractère nul.",
                    "instance": request.path.replace("\x00", ""),
                },
                status=400,
                content_type="application/problem+json",
                json_dumps_params={"ensure_ascii": False},
            )
        raise NulCharacterInRequest(reason)
