"""K1: a NUL character is never valid input (no text of the product may hold one and
PostgreSQL refuses it in any query: « A string literal cannot contain NUL »). A request that
carries one in its path, its query or its form — names, values or file names — is refused
as a bad request (400, « Requête incorrecte ») before any view runs."""

from django.core.exceptions import SuspiciousOperation


class NulCharacterInRequest(SuspiciousOperation):
    pass


def _has_nul(querydict):
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in querydict.lists())


class RejectNulMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or _has_nul(request.GET):
            raise NulCharacterInRequest("NUL character in the URL")
        if request.method == "POST" and (
            _has_nul(request.POST) or any("\x00" in f.name for f in request.FILES.values())
        ):
            raise NulCharacterInRequest("NUL character in the form")
        return self.get_response(request)
