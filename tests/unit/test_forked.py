"""Work shared with forked copies of the process: results, failures, safety."""

import multiprocessing
import os
import threading

import pytest

from crmkit import _forked
from crmkit._forked import can_fork, cores, in_parts

needs_fork = pytest.mark.skipif(
    not can_fork(), reason="forking is not safe here (macOS, Windows or threads)"
)


def _pid_and_sum(*numbers):
    return os.getpid(), sum(numbers)


@needs_fork
def test_parts_come_back_in_order_the_first_computed_here():
    results = in_parts(_pid_and_sum, [(1, 2), (3,), (4, 5, 6)])
    assert [total for _, total in results] == [3, 3, 15]
    pids = [pid for pid, _ in results]
    assert pids[0] == os.getpid()
    assert len(set(pids)) == 3  # one copy per other part


def test_no_parts_and_one_part_fork_nothing():
    assert in_parts(_pid_and_sum, []) == []
    assert in_parts(_pid_and_sum, [(1,)]) == [(os.getpid(), 1)]


def _fails_in_a_copy(parent, value):
    if os.getpid() != parent:
        raise KeyError(value)
    return value


@needs_fork
def test_a_copy_s_exception_is_raised_here_with_its_traceback():
    here = os.getpid()
    with pytest.raises(KeyError, match="'second'") as raised:
        in_parts(_fails_in_a_copy, [(here, "first"), (here, "second")])
    notes = "\n".join(raised.value.__notes__)
    assert "in a forked worker" in notes
    assert "_fails_in_a_copy" in notes


def _dies_in_a_copy(parent, code):
    if os.getpid() != parent:
        os._exit(code)
    return code


@needs_fork
def test_a_copy_that_dies_is_reported():
    here = os.getpid()
    with pytest.raises(ChildProcessError, match="exit code 3"):
        in_parts(_dies_in_a_copy, [(here, 0), (here, 3)])


def _unpicklable(_):
    return lambda: None  # functions made at run time do not pickle


@needs_fork
def test_a_result_that_does_not_pickle_is_reported():
    with pytest.raises(RuntimeError, match="a forked worker failed"):
        in_parts(_unpicklable, [(1,), (2,)])


def _slow_in_a_copy(parent, seconds):
    if os.getpid() != parent:
        threading.Event().wait(seconds)
    raise ValueError(seconds)


@needs_fork
def test_copies_still_running_are_stopped_when_this_side_fails():
    here = os.getpid()
    with pytest.raises(ValueError, match="0"):
        in_parts(_slow_in_a_copy, [(here, 0), (here, 60)])
    assert multiprocessing.active_children() == []


def test_send_result_sends_the_outcome_or_the_failure():
    """What a copy runs, run here (so that it is measured)."""
    receiver, sender = multiprocessing.Pipe(duplex=False)
    _forked._send_result(sender, _pid_and_sum, (2, 3))
    assert receiver.recv() == (True, (os.getpid(), 5))

    receiver, sender = multiprocessing.Pipe(duplex=False)
    _forked._send_result(sender, int, ("x",))
    succeeded, error = receiver.recv()
    assert not succeeded
    assert isinstance(error, ValueError)
    assert "in a forked worker" in error.__notes__[0]

    receiver, sender = multiprocessing.Pipe(duplex=False)
    _forked._send_result(sender, _unpicklable, (1,))
    succeeded, error = receiver.recv()
    assert not succeeded
    assert isinstance(error, RuntimeError)


def test_no_fork_while_another_python_thread_runs():
    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()
    try:
        assert not can_fork()
    finally:
        release.set()
        thread.join()


def test_cores_asked_for():
    assert cores(3) == 3
    assert cores(-1) >= 1
    for wrong in (0, -2):
        with pytest.raises(ValueError, match=f"not {wrong}"):
            cores(wrong)
