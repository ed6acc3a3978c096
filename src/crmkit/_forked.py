"""Work shared between this process and forked copies of it, one core each."""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import traceback
import warnings
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

__all__ = ["can_fork", "cores", "in_parts"]

T = TypeVar("T")


def cores(workers: int) -> int:
    """
    The cores a ``workers`` argument asks for (``-1``: all this process may use).

    Raises:
        ValueError: ``workers`` is 0 or below -1.
    """
    if workers == -1:
        if hasattr(os, "sched_getaffinity"):
            return len(os.sched_getaffinity(0))
        return os.cpu_count() or 1
    if workers < 1:
        msg = f"workers must be -1 (every core) or at least 1, not {workers}"
        raise ValueError(msg)
    return workers


def can_fork() -> bool:
    """
    Whether a forked copy of this process may safely run Python code now.

    Not on macOS, whose system libraries are not safe to use after a fork, nor
    while another Python thread runs: a lock it held at the fork would stay
    locked for ever in the copy. (Native threads that only wait for work, such
    as numpy's BLAS pool, hold no lock while they wait.)
    """
    return (
        sys.platform != "darwin"
        and "fork" in multiprocessing.get_all_start_methods()
        and threading.active_count() == 1
    )


def in_parts(function: Callable[..., T], parts: Sequence[tuple[Any, ...]]) -> list[T]:
    """
    ``[function(*args) for args in parts]``, each part but the first in a forked copy.

    The copies see this process's memory as it was at the fork, so arguments are
    not pickled; each result comes back pickled through a pipe. The first part
    runs here meanwhile. An exception in a copy is raised here (the first one,
    in part order); copies still running when this returns or raises are
    stopped. Call it only when `can_fork` says so.

    Raises:
        ChildProcessError: A copy ended without sending its result (killed).
    """
    context = multiprocessing.get_context("fork")
    children: list[tuple[BaseProcess, Connection]] = []
    try:
        for args in parts[1:]:
            receiver, sender = context.Pipe(duplex=False)
            child = context.Process(
                target=_send_result, args=(sender, function, args), daemon=True
            )
            with warnings.catch_warnings():
                # Python 3.12+ warns of any other thread, the native idle ones
                # included; can_fork has checked for Python threads.
                warnings.simplefilter("ignore", DeprecationWarning)
                child.start()
            sender.close()
            children.append((child, receiver))
        results = [function(*parts[0])] if parts else []
        results.extend(_received(*forked) for forked in children)
        return results
    finally:
        for process, pipe in children:
            if process.is_alive():
                process.terminate()
            process.join()
            pipe.close()


def _received(process: BaseProcess, pipe: Connection) -> Any:
    """A copy's result, once it has ended."""
    try:
        succeeded, value = pipe.recv()
    except EOFError:
        process.join()
        msg = f"a forked worker ended without its result (exit code {process.exitcode})"
        raise ChildProcessError(msg) from None
    process.join()
    if not succeeded:
        raise value
    return value


def _send_result(
    sender: Connection, function: Callable[..., T], args: tuple[Any, ...]
) -> None:
    """In a forked copy: send ``(True, result)``, or ``(False, the exception)``."""
    failure: BaseException | None = None
    try:
        outcome: tuple[bool, object] = (True, function(*args))
    except BaseException as error:  # noqa: BLE001 (every failure goes to the parent)
        text = "".join(traceback.format_exception(error)).rstrip()
        error.add_note(f"in a forked worker:\n{text}")
        failure, outcome = error, (False, error)
    try:
        sender.send(outcome)
    except Exception as problem:  # noqa: BLE001 (an outcome that does not pickle)
        text = "".join(traceback.format_exception(failure or problem)).rstrip()
        sender.send((False, RuntimeError(f"a forked worker failed:\n{text}")))
    finally:
        sender.close()
