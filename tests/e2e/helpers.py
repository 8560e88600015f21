"""What every browser test of the OF and Carif screens checks (U1): no JavaScript error and
no console error on any page, controls visible (not only present), errors in the viewport."""

import re

WIDTHS = (1280, 900, 375)


class ScriptErrors:
    """Collects the page's uncaught exceptions and console errors; ``check()`` fails on any."""

    def __init__(self, page):
        self.errors = []
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))
        page.on(
            "console",
            lambda message: message.type == "error" and self.errors.append(f"{page.url}: {message.text}"),
        )

    def check(self):
        assert self.errors == [], "JavaScript or console errors:\n" + "\n".join(self.errors)


def watch(page, width=1280, height=900):
    page.set_viewport_size({"width": width, "height": height})
    return ScriptErrors(page)


def in_viewport(locator):
    """True when the element is visible and at least partly inside the window."""
    locator.wait_for(state="visible")
    return locator.evaluate(
        """el => { const r = el.getBoundingClientRect();
                   return r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0
                          && r.top < window.innerHeight && r.left < window.innerWidth; }"""
    )


def is_focused(locator):
    return locator.evaluate("el => el === document.activeElement || el.contains(document.activeElement)")


def login(page, email, password="Motdepasse!1"):
    page.goto("/ofeli/connexion/")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label(re.compile(r"^\s*Mot de passe")).fill(password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state()


def with_password(user, password="Motdepasse!1"):
    user.set_password(password)
    user.save()
    return user
