"""
``manage.py qcluster``: django-q2's command, with a stop that does not wait for an encode (issue #14).

django-q2 stops a cluster when its main process gets SIGTERM or SIGINT: the guard (django-q2's
"sentinel") stops taking jobs, each worker finishes the job it holds, then everything exits
(django_q/cluster.py: Cluster.sig_handler, Sentinel.stop). On the transcode cluster that would
be the rest of a chunk's encode, minutes. Here the main process also passes the stop on: SIGINT
to every process the guard started, every half second until the guard has exited. django-q2's
guard, pusher, monitor and idle workers ignore SIGINT (the guard sets SIG_IGN before it forks
them), so they stop as django-q2 stops them; a worker encoding a chunk takes it as "stop now"
(``videos.services.transcode._stop_on_sigterm``): FFmpeg is killed, the chunk goes back to the
queue, and the worker returns to django-q2, which ends it. FFmpeg (started by the workers in
sessions of their own) is not signalled. A job taken ahead (the pusher's prefetch) that starts a
chunk meanwhile gets the next SIGINT. So a stop takes seconds and loses no chunk.

Send the stop to the main process only (systemd ``KillMode=mixed``, ``docker stop``,
scripts/serve.sh). Signalled all at once (a whole process group or cgroup), the guard dies at
once (its SIGTERM is SIG_DFL) while it waits on django-q2's stop event, and django-q2's own
handler then blocks for ever in ``Event.set()``, which waits for every waiter to acknowledge —
the dead guard never does (django-q2 issue #346); further SIGTERMs only stack up behind it.
That is how `make run` left transcode clusters running, deaf to SIGTERM. The handler here sets
the event from a thread of its own and waits only for the guard to end, so even then the main
process exits.
"""

import os
import signal
import threading
from contextlib import suppress
from pathlib import Path

from django.conf import settings
from django_q.cluster import Cluster
from django_q.conf import logger
from django_q.management.commands import qcluster

# How often the workers are told again while the guard winds down (each SIGINT is cheap).
PASS_ON_SECONDS = 0.5


def children(pid: int) -> list[int]:
    """The live processes whose parent is ``pid`` (Linux ``/proc``; elsewhere none)."""
    found = []
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def pass_stop_on(guard_pid: int, done: threading.Event) -> None:
    """SIGINT to the guard's children until ``done``: see the module docstring."""
    while True:
        for pid in children(guard_pid):
            with suppress(OSError):
                os.kill(pid, signal.SIGINT)
        if done.wait(PASS_ON_SECONDS):
            return


class StopPassingCluster(Cluster):
    """django-q2's cluster whose stop reaches the worker's job at once (see the module docstring)."""

    stopping = False

    def sig_handler(self, signum, frame):
        if self.stopping:
            return  # already stopping; SIGKILL is the way to hurry it
        if not (self.sentinel and self.start_event and self.start_event.is_set()):
            return super().sig_handler(signum, frame)  # still starting: django-q2 handles that
        self.stopping = True
        guard = self.sentinel
        logger.info("Q Cluster %s stopping.", self.name)
        done = threading.Event()
        threading.Thread(target=pass_stop_on, args=(guard.pid, done), name="pass-stop-on", daemon=True).start()
        # Never in this thread: Event.set() blocks for ever if the guard died waiting on it.
        threading.Thread(target=self.stop_event.set, name="stop-event", daemon=True).start()
        guard.join()
        done.set()
        logger.info("Q Cluster %s has stopped.", self.name)


class Command(qcluster.Command):
    def handle(self, *args, **options):
        settings.SECRET_KEY  # noqa: B018 (as django-q2's command: tasks are signed with it)
        if options.get("cluster_name"):
            os.environ["Q_CLUSTER_NAME"] = options["cluster_name"]
        cluster = StopPassingCluster()
        cluster.start()
        if options.get("run_once", False):
            cluster.stop()
