from django.contrib.auth.backends import ModelBackend


class EmailBackend(ModelBackend):
    """Login by e-mail, case-insensitive."""

    def authenticate(self, request, username=None, password=None, email=None, **kwargs):
        email = (email or username or "").strip().lower()
        return super().authenticate(request, username=email, password=password, **kwargs)
