"""Settings shared by every environment. Values that differ between machines come
from the environment (see README.md, « Configuration »)."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

from ofeli.core.regions import get_region

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("OFELI_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)  # SQLite file, private files, mails (git-ignored)


def env_bool(name, default=False):
    return os.environ.get(name, str(default)).lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sitemaps",
    "django_htmx",
    "csp",
    "dsfr",
    "django.forms",  # after dsfr: DSFR's widget templates take precedence over Django's
    "widget_tweaks",
    "django_tasks",
    "django_tasks_db",
    "ofeli.core",
    "ofeli.referentials",
    "ofeli.users",
    "ofeli.structures",
    "ofeli.formations",
    "ofeli.workflow",
    "ofeli.messaging",
    "ofeli.mails",
    "ofeli.exports",
    "ofeli.public",
    "ofeli.alerts",
    "ofeli.backoffice",
    "ofeli.api",
    "ofeli.quality",
    "ofeli.demo",
    "ninja",
    "axes",
]

MIDDLEWARE = [
    "ofeli.core.logs.RequestIdMiddleware",  # first: every log line of the request carries its id
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "ofeli.core.input_guard.RejectNulMiddleware",  # K1: a NUL in a request is a 400
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "ofeli.users.middleware.CurrentStructureMiddleware",
    "ofeli.users.sessions.StaffSessionMiddleware",  # K1: staff sessions end sooner
    "axes.middleware.AxesMiddleware",  # last: turns a blocked login into the lockout page
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "ofeli" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ofeli.core.context_processors.site",
            ],
            "builtins": ["dsfr.templatetags.dsfr_tags", "ofeli.core.templatetags.ofeli_tags"],
        },
    },
]
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'ofeli.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server and the task worker use the file at the same time.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "users.User"
AUTHENTICATION_BACKENDS = ["ofeli.users.throttling.LoginThrottleBackend", "ofeli.users.backends.EmailBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "ofeli.users.passwords.OfeliPasswordValidator"},
    {
        # K1: Django's default (0.7) lets « Marie.Dupont1! » through for marie.dupont@…
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "first_name", "last_name"), "max_similarity": 0.5},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "users:login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "users:login"
PASSWORD_RESET_TIMEOUT = 7 * 24 * 3600  # activation and reset links last a week

# K1: failed logins (django-axes, attempts in the database so every process sees them):
# after AXES_FAILURE_LIMIT failures for one e-mail address OR from one client address, that
# address / that client is blocked for AXES_COOLOFF_TIME, counted from the last failure;
# the same limit for every account, OF or staff, known or not (ofeli/users/throttling.py).
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = int(os.environ.get("OFELI_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("OFELI_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "ofeli.users.throttling.login_username"
AXES_CLIENT_IP_CALLABLE = "ofeli.users.throttling.client_ip"
AXES_LOCKOUT_CALLABLE = "ofeli.users.throttling.login_locked_out"
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # the announced wait does not grow
AXES_ENABLE_ADMIN = False
AXES_DISABLE_ACCESS_LOG = True  # failures only: no row per successful login
AXES_VERBOSE = False
# Reverse proxies in front of the application that append to X-Forwarded-For (0: none, the
# client address is REMOTE_ADDR). Wrong here, every client would share the proxy's address.
TRUSTED_PROXY_COUNT = int(os.environ.get("OFELI_TRUSTED_PROXIES", "0"))
# Anonymous forms, per client address and per hour (« Mot de passe oublié »: also per e-mail).
ACCOUNT_REQUEST_RATE_LIMIT = int(os.environ.get("OFELI_ACCOUNT_REQUEST_RATE_LIMIT", "5"))
PASSWORD_RESET_RATE_LIMIT = int(os.environ.get("OFELI_PASSWORD_RESET_RATE_LIMIT", "10"))
PASSWORD_RESET_EMAIL_RATE_LIMIT = int(os.environ.get("OFELI_PASSWORD_RESET_EMAIL_RATE_LIMIT", "3"))
# P5 (ofeli/alerts): e-mail alerts of the public site. Subscriptions and « Gérer mes alertes »
# requests per hour, per client address and per typed e-mail; days a confirmation link (and
# an unconfirmed alert) lasts; days a « Gérer mes alertes » link lasts; alerts per address.
ALERT_RATE_LIMIT = int(os.environ.get("OFELI_ALERT_RATE_LIMIT", "10"))
ALERT_EMAIL_RATE_LIMIT = int(os.environ.get("OFELI_ALERT_EMAIL_RATE_LIMIT", "3"))
ALERT_CONFIRM_DAYS = int(os.environ.get("OFELI_ALERT_CONFIRM_DAYS", "3"))
ALERT_MANAGE_LINK_DAYS = int(os.environ.get("OFELI_ALERT_MANAGE_LINK_DAYS", "7"))
ALERT_MAX_PER_EMAIL = int(os.environ.get("OFELI_ALERT_MAX_PER_EMAIL", "10"))

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français")]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True
DATE_INPUT_FORMATS = ["%d/%m/%Y", "%Y-%m-%d"]

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("OFELI_MEDIA_ROOT", VAR_DIR / "media"))
# Private files (uploads, exports) are never served as static media: views check rights.
PRIVATE_STORAGE_ROOT = Path(os.environ.get("OFELI_PRIVATE_ROOT", VAR_DIR / "private"))
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(PRIVATE_STORAGE_ROOT)},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
UPLOAD_MAX_BYTES = int(os.environ.get("OFELI_UPLOAD_MAX_BYTES", 5 * 1024 * 1024))

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads it to send X-CSRFToken
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# S1: Content-Security-Policy (django-csp) in every environment, so that the browser tests
# catch an inline script or handler: scripts, styles and fonts come only from our static
# files (the JSON-LD <script type="application/ld+json"> is data, not run); images may also
# come from the map's tile server (OFELI_MAP_TILE_ORIGINS, comma-separated origins).
MAP_TILE_ORIGINS = env_list("OFELI_MAP_TILE_ORIGINS")
# P3: the public site's maps (Leaflet, vendored): the tile server's URL template, so that a
# deployment may use its own; "" = no background tiles (markers only). Its origin is allowed
# for images.
MAP_TILE_URL = os.environ.get("OFELI_MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
MAP_TILE_ATTRIBUTION = os.environ.get("OFELI_MAP_TILE_ATTRIBUTION", "© les contributeurs d'OpenStreetMap")
if MAP_TILE_URL and not MAP_TILE_ORIGINS:
    MAP_TILE_ORIGINS = ["/".join(MAP_TILE_URL.split("/")[:3]).replace("{s}.", "*.")]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", *MAP_TILE_ORIGINS],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

EMAIL_BACKEND = os.environ.get("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "OFeli <offre@alfacentre.org>")
# R4: mails are sent by the task worker; a server that does not answer must not hold it
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "30"))
# Folder where the .eml backend writes a copy of every mail (demo and tests).
MAIL_EML_DIR = Path(os.environ.get("OFELI_MAIL_DIR", VAR_DIR / "mails"))

# Public address of the product, used in mails (activation links...).
SITE_URL = os.environ.get("OFELI_SITE_URL", "http://127.0.0.1:8000")
SITE_NAME = "OFeli"
# S2: the instance's region (ofeli/core/regions.py): an INSEE region code, or « FR » for a
# national instance. It gives the départements, the communes loaded for the place search
# (manage.py load_communes), the LHEO <region> codes and the names below. Demo: 24.
REGION = get_region(os.environ.get("OFELI_REGION", "24"))
REGION_CODE = REGION.code  # NDA prefix and LHEO <region> (a national instance: per département)
REGION_NAME = REGION.name
REGION_DEPARTEMENTS = list(REGION.departements)
CARIF_NAME = os.environ.get("OFELI_CARIF_NAME", "GIP Alfa Centre-Val de Loire" if REGION.code == "24" else "Carif-Oref")
PUBLIC_SITE_NAME = os.environ.get("OFELI_PUBLIC_SITE_NAME", f"Formation {REGION.name}")
# The Carif-Oref's contact details (legal notice, personal data) and the rectorat that
# delivers UAI numbers (structure record help); the demo's are those of Centre-Val de Loire.
_CVL = REGION.code == "24"
CARIF_ADDRESS = os.environ.get("OFELI_CARIF_ADDRESS", "10 rue Saint-Étienne, 45000 Orléans" if _CVL else "")
CARIF_EMAIL = os.environ.get("OFELI_CARIF_EMAIL", "offre@alfacentre.org" if _CVL else "")
CARIF_PHONE = os.environ.get("OFELI_CARIF_PHONE", "02 38 77 83 35" if _CVL else "")
RECTORAT_NAME = os.environ.get("OFELI_RECTORAT_NAME", "l'académie d'Orléans-Tours" if _CVL else "")
RECTORAT_PHONE = os.environ.get("OFELI_RECTORAT_PHONE", "02 38 79 38 79" if _CVL else "")

# National address base (api-adresse protocol), see ofeli/core/ban.py
BAN_API_URL = os.environ.get("OFELI_BAN_API_URL", "https://api-adresse.data.gouv.fr")
BAN_TIMEOUT = float(os.environ.get("OFELI_BAN_TIMEOUT", "3"))

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

# S4: nightly jobs hold a database lock; a holder that stops renewing it for this long
# (killed machine) loses it. Health endpoint (/sante/) thresholds.
NIGHTLY_LOCK_TTL = timedelta(hours=int(os.environ.get("OFELI_NIGHTLY_LOCK_HOURS", "3")))
HEALTH_NIGHTLY_MAX_AGE = timedelta(hours=int(os.environ.get("OFELI_HEALTH_NIGHTLY_MAX_HOURS", "26")))
HEALTH_WORKER_MAX_DELAY = timedelta(seconds=int(os.environ.get("OFELI_HEALTH_WORKER_MAX_DELAY", "300")))
HEALTH_HEARTBEAT_INTERVAL = timedelta(seconds=60)

# S4: caches and sessions are shared by every web process: sessions in the database
# (Django's default), the cache in the database table « ofeli_cache » (manage.py
# createcachetable), or Redis when REDIS_URL is set.
if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": os.environ["REDIS_URL"]}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "ofeli_cache"}}
SESSION_ENGINE = "django.contrib.sessions.backends.db"
# K1 (ofeli/users/sessions.py): OF sessions last 12 hours from the login, closing the browser
# keeps them; staff sessions end with the browser and after 2 hours without a request.
SESSION_COOKIE_AGE = int(os.environ.get("OFELI_SESSION_HOURS", "12")) * 3600
STAFF_SESSION_IDLE = timedelta(minutes=int(os.environ.get("OFELI_STAFF_SESSION_IDLE_MINUTES", "120")))

EXPORT_RETENTION_DAYS = 7
# R3: temporary files of exports being built (swept when their worker died); heartbeat of a
# running export and the silence after which its worker is taken for dead; attempts.
EXPORT_TMP_DIR = Path(os.environ.get("OFELI_EXPORT_TMP_DIR", VAR_DIR / "tmp"))
EXPORT_HEARTBEAT_SECONDS = 10
EXPORT_STALE_SECONDS = int(os.environ.get("OFELI_EXPORT_STALE_SECONDS", "120"))
EXPORT_MAX_ATTEMPTS = 3
LHEO_FLOWS_DIR = Path(os.environ.get("OFELI_LHEO_FLOWS_DIR", VAR_DIR / "flows"))

# S1: one JSON line per event on stderr, with the request id (ofeli/core/logs.py);
# DJANGO_LOG_FORMAT=text for a human-readable console.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "ofeli.core.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "filters": {"request_id": {"()": "ofeli.core.logs.RequestIdFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": os.environ.get("DJANGO_LOG_FORMAT", "json"),
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        # the request line is ours (ofeli.request); Django's own would repeat it for 4xx/5xx
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
    },
}
CSRF_FAILURE_VIEW = "ofeli.core.views.csrf_failure"

# Partner API (J1-J4, docs/api.md): calls per minute per partner token, resources readable
# without a token (none by default; e.g. "tables,certifications").
API_RATE_LIMIT = int(os.environ.get("OFELI_API_RATE_LIMIT", "120"))
API_PUBLIC_RESOURCES = [r for r in os.environ.get("OFELI_API_PUBLIC_RESOURCES", "").split(",") if r]

# Offer quality (Q1, Q4, docs/quality.md): France Compétences exports dropped here are
# imported by the nightly job; sessions ended more than N days ago are listed on the Carif's
# quality dashboard; users' last login older than this many days.
CERTIFICATIONS_INBOX = Path(os.environ.get("OFELI_CERTIFICATIONS_INBOX", VAR_DIR / "certifications"))
QUALITY_ENDED_DAYS = int(os.environ.get("OFELI_QUALITY_ENDED_DAYS", "30"))
QUALITY_INACTIVE_DAYS = int(os.environ.get("OFELI_QUALITY_INACTIVE_DAYS", "365"))
