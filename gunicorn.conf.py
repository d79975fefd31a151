"""gunicorn settings for the platform (``gunicorn -c gunicorn.conf.py wsgi:app``).

Every setting can be overridden on the command line or with GUNICORN_CMD_ARGS. The request limits below are the
"server in front" limits that the OpenAPI document describes (413/414/431 answers).
"""

import multiprocessing
import os

bind = os.environ.get("BOOKING_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("BOOKING_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
timeout = 30
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then so that a slow leak cannot grow without bound.
max_requests = 5000
max_requests_jitter = 500
# Requests larger than these are refused before they reach the application.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
accesslog = os.environ.get("BOOKING_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("BOOKING_LOG_LEVEL", "info")
# Workers import the application after the fork, so each has its own database connection pool.
preload_app = False
