"""Session lifetime (K1, README « Sécurité des connexions »).

- OF users: the session lasts ``SESSION_COOKIE_AGE`` (12 hours by default) from the login and
  survives closing the browser within that time (a working day without logging in again).
- Carif staff, who can change every structure: the session cookie ends when the browser
  closes, and the session ends after ``STAFF_SESSION_IDLE`` (2 hours by default) without a
  request; ``SESSION_COOKIE_AGE`` stays the upper bound."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

ACTIVITY_KEY = "staff_last_activity"
WRITE_EVERY = 60  # seconds: the activity time is saved at most once a minute


@receiver(user_logged_in)
def staff_session_on_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session") and user.is_carif:
        request.session.set_expiry(0)  # the cookie ends with the browser
        request.session[ACTIVITY_KEY] = int(time.time())


class StaffSessionMiddleware:
    """Ends a staff session idle for longer than ``STAFF_SESSION_IDLE``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_carif:
            now = int(time.time())
            last = request.session.get(ACTIVITY_KEY)
            idle = settings.STAFF_SESSION_IDLE.total_seconds()
            if last is not None and now - last > idle:
                logout(request)
                hours = int(idle // 3600)
                duration = f"{hours} heure{'s' if hours > 1 else ''}" if hours else f"{int(idle // 60)} minutes"
                messages.info(request, f"Votre session a pris fin après {duration} sans activité : reconnectez-vous.")
                return redirect(reverse("users:login") + "?" + urlencode({"next": request.get_full_path()}))
            if last is None or now - last >= WRITE_EVERY:
                request.session[ACTIVITY_KEY] = now
                if last is None:
                    request.session.set_expiry(0)
        return self.get_response(request)
