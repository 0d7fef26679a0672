"""gunicorn's settings for Talonario: `gunicorn -c gunicorn.conf.py 'app:create_app()'`.

Process settings come from the environment (the app's own come from `TALONARIO_*`):
  PORT             port to listen on (8000)
  WEB_HOST         address to listen on (127.0.0.1: behind a proxy on the same host;
                   the container image sets 0.0.0.0)
  WEB_CONCURRENCY  worker processes (2 × CPU cores + 1)
  WEB_THREADS      threads per worker (1: sync workers; more switches to gthread)
  WEB_PRELOAD      load the app once in the master before forking (true)
Anything else: GUNICORN_CMD_ARGS, e.g. "--timeout 60", which gunicorn applies over this file.

Signals: TERM or INT stop gracefully (requests in flight get `graceful_timeout`); HUP re-reads
this file and replaces the workers gracefully, new ones first. With WEB_PRELOAD the code is the
master's, loaded once: new code needs a restart, or WEB_PRELOAD=false so that HUP's new workers
import it afresh.
"""

from __future__ import annotations

import os
from typing import Any

from core.db import db
from core.logging import install_redaction


def _cores() -> int:
    """CPUs this process may run on (a container's cpuset), not the host's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _flag(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in ("1", "true", "yes", "on")


bind = f"{os.environ.get('WEB_HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
# The usual rule for sync workers: while one waits on PostgreSQL another uses the CPU.
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * _cores() + 1)
threads = int(os.environ.get("WEB_THREADS") or 1)  # > 1: gunicorn uses gthread workers

# Load balancers and proxies drop an idle upstream request after ~60 s (nginx
# proxy_read_timeout, AWS ALB's idle timeout). A request still running at 45 s is killed here
# first, so the failure is ours, in our log, with a traceback, instead of a bare 504 at the
# balancer while the worker keeps working for nobody. 45 s still covers the longest legitimate
# request: the API's `?wait=30` on an authorization. ARCA itself is never called by a web
# request: that is the RQ workers' job.
timeout = 45
# On TERM or HUP, requests in flight finish for up to 35 s (a `?wait=30` included), again under
# the balancer's 60 s; compose's stop_grace_period (45 s) is longer, so docker does not kill first.
graceful_timeout = 35
# Idle keep-alive connections (gthread workers; sync workers close after each response) are kept
# longer than the balancer keeps its own (60 s): the balancer closes first, so it never sends a
# request down a connection we have just closed (a 502 nobody can explain).
keepalive = 75

# Forwarded headers (X-Forwarded-For/-Proto/-Host) are read by one component only: the app's
# ProxyFix, trusting exactly TALONARIO_TRUSTED_PROXIES hops (app.py). gunicorn trusts nobody, so
# with TALONARIO_TRUSTED_PROXIES=0 (no proxy) such a header has no effect at all, not even the
# https scheme from a local client (gunicorn's default trusts 127.0.0.1), and behind N proxies
# only ProxyFix's count decides.
forwarded_allow_ips = ""

# The app holds no connection at import; create_app() opens one to check the keys' canary (and
# redis-py reconnects after a fork by itself). `when_ready` below disposes of the pool in the
# master before any fork, so workers never share a database socket.
preload_app = _flag("WEB_PRELOAD", True)

# gunicorn ≥ 25.1's control socket sits at one path per user ($HOME/.gunicorn/gunicorn.ctl): two
# masters on a host (tests, a blue/green pair) would take it from each other. Signals do its job.
control_socket_disable = True

accesslog = "-"  # stdout: the process manager's log
errorlog = "-"
# %(h)s is the client's address as ProxyFix resolved it: the access line is written after the
# response, from the same environ ProxyFix rewrote. Paths and queries are redacted (below).
# The last field is the response's X-Request-ID: the id the app's and the jobs' lines carry.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s" %({x-request-id}o)s'

# Every log record of the master and of the workers goes through the redacting record factory,
# gunicorn's access log ("GET /reset/<token>") included, from the first line on; create_app()
# installs the same factory again, which changes nothing.
install_redaction()


def when_ready(server: Any) -> None:
    """Master, app preloaded, before the first fork: close the database connection create_app()
    opened and the Redis pools, so no socket is inherited by the workers."""
    if not server.cfg.preload_app:
        return
    app = server.app.wsgi()
    with app.app_context():
        db.engine.dispose()
    cache_client = getattr(app.extensions.get("talonario.cache"), "client", None)
    for client in (cache_client, app.config.get("SESSION_REDIS")):
        if client is not None:
            client.connection_pool.disconnect()


def child_exit(server: Any, worker: Any) -> None:
    """A worker gone: with PROMETHEUS_MULTIPROC_DIR (core/metrics.py), its files stop counting as
    a live process's (gauges in `livesum`/`liveall` modes)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess  # only where metrics are set up

        multiprocess.mark_process_dead(worker.pid)
