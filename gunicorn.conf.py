"""gunicorn's settings for `make run` (the embedded default) and the starting point for
production (docs/operations.md): ``gunicorn --config gunicorn.conf.py --bind HOST:PORT``.

- No ``Server`` header: gunicorn always writes ``Server: gunicorn`` and has no setting to
  leave it out, so its response class is told to drop that line (checked by
  tests/test_make_run.py, which fails if a gunicorn upgrade brings the banner back).  A
  scanner should not learn which server and version to try exploits on.
- Logs: the access log on stdout with the path only (no query string: searches and CAD
  addresses stay out of log files), gunicorn's own and the app's messages (``floorplans``,
  ``blueprints`` at INFO) on stderr.  Nothing here logs a password, token or contact value
  (tests/security/test_logs.py).
- Workers: ``WEB_CONCURRENCY`` (3 by default: two keep answering officers while a third
  prepares a print packet); sync workers, as docs/operations.md explains.  ``timeout`` 60 s:
  the print packet is made in the request.
- Each worker, once it has loaded the app, freezes what it holds out of the garbage
  collector's full passes (``post_worker_init``): a full pass walked the ~220,000 objects of
  the loaded app, ~100 ms on a 2-core machine, inside whatever request was running (the
  p99 of a search at province size, docs/benchmarks.md).  Frozen, a full pass walks only
  what requests made since: ~2 ms.
"""
from __future__ import annotations

import gc
import os
from typing import Any

from gunicorn.http import wsgi as _gunicorn_wsgi

wsgi_app = "wsgi:app"
bind = ["127.0.0.1:" + os.environ.get("PORT", "5000")]
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
timeout = 60
graceful_timeout = 20
# gunicorn's control socket (gunicornc) is not used; it would be one path for every server
# on the machine (make run, the tests' servers).
control_socket_disable = True

accesslog = "-"
errorlog = "-"
loglevel = "info"
# %(U)s is the path without its query string.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
logconfig_dict = {
    "root": {"level": "WARNING", "handlers": ["error_console"]},  # libraries: warnings and errors only
    "loggers": {
        name: {"level": "INFO", "handlers": ["error_console"], "propagate": False}
        for name in ("floorplans", "blueprints")
    },
}

_default_headers = _gunicorn_wsgi.Response.default_headers


def _default_headers_without_server(self: _gunicorn_wsgi.Response) -> list[str]:
    return [line for line in _default_headers(self) if not line.lower().startswith("server:")]


_gunicorn_wsgi.Response.default_headers = _default_headers_without_server  # type: ignore[method-assign]


def post_worker_init(worker: Any) -> None:
    """Freeze what the loaded app holds (modules, the app, its mappers): never garbage, so
    never worth walking again (see the module's docstring)."""
    gc.freeze()
    worker.log.info("Worker %s: %d objects frozen out of the garbage collector's full passes", worker.pid,
                    gc.get_freeze_count())
