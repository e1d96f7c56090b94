"""FFmpeg never outlives its job: deadline, exceptions in the progress callback, a killed worker."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from videos import transcoding

pytestmark = pytest.mark.slow

ENDLESS = [
    "ffmpeg",
    "-nostdin",
    "-re",
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=64x64:rate=10",
    "-f",
    "null",
    "-progress",
    "pipe:1",
    "-nostats",
    "-",
]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"  # a zombie is dead, just not reaped yet
    except FileNotFoundError:
        return False


def _ffmpeg_children(parent_pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(parent_pid), "ffmpeg"], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def test_deadline_kills_ffmpeg():
    started = time.monotonic()
    result = transcoding.run(ENDLESS, deadline=time.monotonic() + 1.5)
    assert result.timed_out
    assert time.monotonic() - started < 10
    assert "did not finish in time" in transcoding.failure_reason(result)


def test_an_exception_in_the_progress_callback_kills_ffmpeg():
    seen = []

    def boom(block):
        seen.append(block)
        raise RuntimeError("job cancelled")

    with pytest.raises(RuntimeError):
        transcoding.run(ENDLESS, on_progress=boom)
    assert seen
    # Only this process's children: other tests (or workers) may run the same source.
    assert not [pid for pid in _ffmpeg_children(os.getpid()) if _alive(pid)]


def test_ffmpeg_dies_with_a_killed_worker(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(
        textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(os.getcwd())!r})
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        from videos import transcoding
        transcoding.run({ENDLESS!r})
    """)
    )
    worker = subprocess.Popen([sys.executable, str(script)], env={**os.environ, "DJANGO_ENV": "development"})
    try:
        for _ in range(100):
            children = _ffmpeg_children(worker.pid)
            if children:
                break
            time.sleep(0.1)
        assert children, "ffmpeg did not start"
        worker.send_signal(signal.SIGKILL)  # the worker dies without running any cleanup
        worker.wait()
        for _ in range(50):
            if not any(_alive(pid) for pid in children):
                break
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in children)
    finally:
        if worker.poll() is None:
            worker.kill()
