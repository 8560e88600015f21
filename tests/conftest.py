import pytest


@pytest.fixture(autouse=True)
def _media_tmp(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private")},
        },
    }
    settings.MAIL_EML_DIR = tmp_path / "mails"


@pytest.fixture(autouse=True)
def _empty_cache():
    """The test cache lives in the process: rate-limit counters of one test never reach the next."""
    from django.core.cache import cache

    cache.clear()


# --- browser tests (Playwright driving Debian's Chromium) -------------------------------

import os  # noqa: E402
import shutil  # noqa: E402

CHROMIUM = os.environ.get("OFELI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


def _no_browser(reason):
    """Browser tests may skip on a developer's machine, never in CI."""
    if os.environ.get("CI"):
        pytest.fail(f"Browser test cannot run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def _playwright_browser():
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        _no_browser(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover
        _no_browser("playwright is not installed")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(_playwright_browser, live_server, settings):
    settings.SITE_URL = live_server.url
    context = _playwright_browser.new_context(locale="fr-FR", base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()
