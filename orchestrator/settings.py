"""Django settings for Dagyard, all read from the environment (see the README's table)."""

from __future__ import annotations

import os
from pathlib import Path

from orchestrator import environment as env

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = env.data_dir()

DEBUG = env.env_flag("DEBUG", default=True)
if DEBUG:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
SECRET_KEY = env.secret_key(debug=DEBUG, directory=DATA_DIR)
ALLOWED_HOSTS = env.env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "orchestrator.apps.DagyardAdminConfig",  # django.contrib.admin, letting in the admin role
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "orchestrator",
    "dags",
    "autoscaler",
    "provisioning",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "orchestrator.urls"
WSGI_APPLICATION = "orchestrator.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "orchestrator.context_processors.admin_link",
            ],
        },
    },
]

DATABASE_URL = env.database_url(DATA_DIR)
DATABASES = {"default": env.database_settings(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# ModelBackend signs people in; RoleBackend gives Dagyard's roles their Django model permissions
# (what the admin asks), from the role table in orchestrator/roles.py.
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "orchestrator.role_backend.RoleBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "orchestrator.api_auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["orchestrator.api_auth.RolePermission"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "orchestrator.api_errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Dagyard API",
    "DESCRIPTION": "DAGs, runs, node runs, logs, queues, workers, pools and deployments.",
    "VERSION": "1",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
# Front-end libraries come from the npm registry (package.json and its lock file), installed into
# node_modules by `make`, and are served from here: never from a CDN.
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    (f"vendor/{name}", NODE_MODULES / path)
    for name, path in (
        ("cytoscape", "cytoscape/dist"),
        ("cytoscape-dagre", "cytoscape-dagre/dist"),
        ("htmx", "htmx.org/dist"),
    )
    if (NODE_MODULES / path).is_dir()
]
STATIC_ROOT = Path(os.environ.get("DAGYARD_STATIC_ROOT", DATA_DIR / "static"))
if DEBUG:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = DEBUG

if not DEBUG:
    SESSION_COOKIE_SECURE = env.env_flag("DAGYARD_SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# Redis: the broker and result store. Unset REDIS_URL means the embedded Redis of `dagyard up`.
BROKER = env.broker_target(DATA_DIR)
REDIS_URL = BROKER.url

# The longest a task may hold a message before Redis hands it to another worker. It must exceed
# the longest node run, or a slow node would be redelivered and run twice.
VISIBILITY_TIMEOUT_SECONDS = int(os.environ.get("DAGYARD_VISIBILITY_TIMEOUT", 12 * 3600))

# Named queues, one per subsystem; a worker started by `dagyard up` consumes all of them.
TASK_QUEUES = ("default", "dags", "autoscaler", "provisioning")

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": VISIBILITY_TIMEOUT_SECONDS,
    # A Redis that does not answer fails a send in seconds, not after the OS's TCP timeout.
    "socket_connect_timeout": 5,
}
# Publishing retries briefly, then gives up; callers handle the failure (see dags.services).
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1,
}  # fmt: skip
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": VISIBILITY_TIMEOUT_SECONDS}
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_TASK_TRACK_STARTED = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {f"{queue}.*": {"queue": queue} for queue in TASK_QUEUES[1:]}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# DAGs: where definitions are loaded from, how often a busy host is checked again, how much of
# a node's output is kept (head and tail).
DAGYARD_DAGS_DIR = Path(os.environ.get("DAGYARD_DAGS_DIR", BASE_DIR / "workflows")).resolve()
DAGYARD_RESOURCE_POLL_SECONDS = float(os.environ.get("DAGYARD_RESOURCE_POLL_SECONDS", "5"))
DAGYARD_OUTPUT_LIMIT_BYTES = int(os.environ.get("DAGYARD_OUTPUT_LIMIT_BYTES", 64 * 1024))

LOG_FORMAT = env.log_format()
LOG_LEVEL = os.environ.get("DAGYARD_LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "orchestrator.logformat.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
    },
}
