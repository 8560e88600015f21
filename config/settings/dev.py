"""Development and demo settings: debug on, every mail written as a .eml file."""

from .base import *  # noqa: F403
from .base import MAIL_EML_DIR, env_bool  # noqa: F401

DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = SECRET_KEY or "dev-only-secret-key-not-for-production"  # noqa: F405
EMAIL_BACKEND = "ofeli.core.mail.EmlFileBackend"
