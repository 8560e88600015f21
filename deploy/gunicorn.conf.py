"""gunicorn settings for OFeli (S1): ``gunicorn -c deploy/gunicorn.conf.py config.wsgi``.

Every value can be changed from the environment (docs/deployment.md): GUNICORN_BIND,
WEB_CONCURRENCY (worker processes, default 2 × cores + 1 capped at 8), GUNICORN_THREADS,
GUNICORN_TIMEOUT. The reverse proxy in front terminates HTTPS and sets X-Forwarded-Proto
and X-Request-ID; requests are logged by Django (one JSON line each, ofeli/core/logs.py),
so gunicorn's access log is off and its own messages are JSON lines too."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 8)))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
max_requests = 2000  # recycle workers now and then (memory)
max_requests_jitter = 200
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
accesslog = None
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "ofeli.core.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "loggers": {
        "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
    },
}
