"""gunicorn settings; every value can be overridden from the environment."""

import multiprocessing
import os

# All interfaces by default: the platform's router sits in front (make run: loopback).
bind = f"{os.environ.get('BIND', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
# Threads keep an idle keep-alive connection from pinning a whole worker; each
# request must be read and answered within WEB_REQUEST_DEADLINE seconds, so a
# client that stalls mid-body frees its thread (codequest/gunicorn_worker.py).
# Threads that wait on a slow client cost no CPU: there are enough of them (16 a
# process, 64 on 2 cores) that dozens of slow clients leave the site answering.
# Each thread that queries keeps one database connection (CONN_MAX_AGE): size
# PostgreSQL's max_connections for WEB_CONCURRENCY x WEB_THREADS plus workers.
worker_class = "codequest.gunicorn_worker.DeadlineThreadWorker"
logger_class = "codequest.gunicorn_worker.DeadlineLogger"
threads = int(os.environ.get("WEB_THREADS", "16"))
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = "-" if os.environ.get("WEB_ACCESS_LOG", "1") == "1" else None


def post_worker_init(worker):
    """One line when a worker has loaded Django and can answer: a worker still
    booting accepts no connection, so this is when the process really serves."""
    worker.log.info("worker ready (pid %s)", worker.pid)
