"""Background jobs: Celery tasks on a broker when one is configured, a thread in-process otherwise.

The pattern is Flask's "Background Tasks with Celery": ``init_app`` builds a Celery app whose
tasks run inside the Flask app context. Jobs are plain functions registered with ``@job(name)``;
they open their own transaction and commit, like a view or a CLI command.

* ``CELERY_BROKER_URL`` set (e.g. ``redis://127.0.0.1:6379/0``): ``enqueue`` publishes the job
  to the ``CELERY_QUEUE`` queue and a worker (``celery -A adoption.worker worker``) runs it.
  Tasks are acknowledged late, so a job whose worker process dies is delivered again (Redis
  does that once its visibility timeout, one hour by default, has passed); jobs must therefore
  be safe to run twice.
* No broker (the embedded default): ``enqueue`` runs the job in a daemon thread of the current
  process, with its own app context, and returns at once. Such a job dies with the process; it
  is identified by a runner id naming the host and process (``local:<host>:<pid>``) so that
  whoever looks at it later can see its process is gone (``runner_is_gone``) and report it as
  interrupted instead of "running" forever.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app

log = logging.getLogger(__name__)

#: Registered jobs, by name. Filled by ``@job`` when the job modules are imported.
_JOBS: dict[str, Callable[..., Any]] = {}

# The modules that define jobs; imported by ``init_app`` (never at adoption's import) so every job
# is registered with Celery, the feature packages' included.
JOB_MODULES = ("adoption.telemetry.jobs", "dashboards.jobs")

# In-process jobs still running in this process (tests and shutdown hooks wait for them).
_local_threads: set[threading.Thread] = set()
_local_lock = threading.Lock()

LOCAL_PREFIX = "local:"


def job(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a function as the background job ``name`` (arguments must be JSON-serializable)."""

    def decorator(function: Callable[..., Any]) -> Callable[..., Any]:
        _JOBS[name] = function
        function.job_name = name  # type: ignore[attr-defined]
        return function

    return decorator


def init_app(app: Flask) -> None:
    """Create the app's Celery instance (lazy: no connection until a job is sent or consumed)."""
    import importlib

    from celery import Celery, Task

    for module in JOB_MODULES:
        importlib.import_module(module)

    class FlaskTask(Task):
        """A task that runs inside this Flask app's context."""

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    broker = app.config.get("CELERY_BROKER_URL")
    backend = app.config.get("CELERY_RESULT_BACKEND")
    # set_as_current=False: each create_app() keeps its own Celery app, no process-wide default.
    celery_app = Celery(app.import_name, task_cls=FlaskTask, set_as_current=False)
    celery_app.conf.update(
        broker_url=broker,
        result_backend=backend,
        task_ignore_result=not backend,
        task_default_queue=app.config["CELERY_QUEUE"],
        task_serializer="json",
        accept_content=["json"],
        # Redelivered if the worker dies mid-job (jobs are idempotent); one job at a time per
        # worker process, since an import is long and holds a database connection.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        # An upload must not hang for minutes when Redis is down: fail fast, the view reports it.
        broker_connection_timeout=5,
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
    )
    for name, function in _JOBS.items():
        celery_app.task(name=name)(function)
    app.extensions["celery"] = celery_app


def enqueue(task_name_or_function: str | Callable[..., Any], *args: Any) -> str | None:
    """Run a job in the background; returns the Celery task id, or the in-process runner id."""
    name = task_name_or_function if isinstance(task_name_or_function, str) else task_name_or_function.job_name
    if name not in _JOBS:
        raise KeyError(f"no background job named {name!r}")
    app = current_app._get_current_object()
    if app.config.get("CELERY_BROKER_URL"):
        result = app.extensions["celery"].send_task(name, args=list(args), queue=app.config["CELERY_QUEUE"])
        return result.id
    thread = threading.Thread(target=_run_local, args=(app, name, args), name=f"job-{name}", daemon=True)
    with _local_lock:
        _local_threads.add(thread)
    thread.start()
    return local_runner_id()


def _run_local(app: Flask, name: str, args: tuple) -> None:
    """Run one job in this thread with its own app context (and so its own database session)."""
    try:
        with app.app_context():
            _JOBS[name](*args)
    except Exception:  # the job records its own failure; this only keeps the traceback
        log.exception("background job %s%r failed", name, args)
    finally:
        with _local_lock:
            _local_threads.discard(threading.current_thread())


def wait_for_local_jobs(timeout: float | None = None) -> bool:
    """Wait for this process's in-process jobs to end; False if some still run after ``timeout``."""
    with _local_lock:
        threads = list(_local_threads)
    for thread in threads:
        thread.join(timeout)
    return not any(thread.is_alive() for thread in threads)


def local_runner_id() -> str:
    """The id of in-process jobs started by this process: ``local:<host>:<pid>`` (≤ 64 chars)."""
    return f"{LOCAL_PREFIX}{socket.gethostname()[:40]}:{os.getpid()}"


def runner_is_gone(task_id: str | None) -> bool:
    """True when ``task_id`` names an in-process runner on this host whose process has ended.

    Celery task ids and runners on other hosts are never judged gone (a dead worker's Celery
    job is redelivered instead).
    """
    if not task_id or not task_id.startswith(LOCAL_PREFIX):
        return False
    host, _, pid = task_id[len(LOCAL_PREFIX):].rpartition(":")
    if host != socket.gethostname()[:40] or not pid.isdigit():
        return False
    pid_number = int(pid)
    if pid_number == os.getpid():
        return False
    try:
        os.kill(pid_number, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:  # exists, owned by someone else (the pid was reused)
        return False
    return False
