"""
worker-kill: a transcode worker dies (SIGKILL of its qcluster process group) in the middle of a case.

The case is encoded in chunks (6 s each here), each a task any transcode worker takes. The
worker is killed while it encodes a chunk past the first. FFmpeg must die with it
(PR_SET_PDEATHSIG in videos.transcoding); the video stays `processing` and, being a first
encode, keeps serving what is finished (the contiguous finished prefix, never a half-written
chunk); the reaper (videos.tasks.reap_stalled) leaves a fresh heartbeat alone and, once the
dead worker's chunk has been silent for TRANSCODE_STALL_SECONDS, queues that chunk again
instead of failing the video; a new worker finishes the case, and at most one chunk is encoded
twice (counted from the chunk rows: a chunk claimed a second time). While the healthy worker
runs, the video's heartbeat must beat more often than the reaper's limit. Second round: a
published video is reprocessed and the worker killed mid-case again: the old ladder keeps
serving, unchanged, until a new worker has finished the new one, which then replaces it.

The chunks the killed worker had taken ahead (django-q2's prefetch: one in its queue, one in
hand) are locked in the ORM broker for `retry` (Q_TIMEOUT + 10 minutes); the reaper queues
such chunks again after TRANSCODE_REQUEUE_SECONDS (production: 1 hour; 10 s here).
"""

# The commands run here are fixed (manage.py, ffmpeg), never user input.
# ruff: noqa: S603, S607

import os
import re
import signal
import subprocess
import time
from datetime import timedelta

from . import harness
from .harness import Report, Worker, common

STALL_SECONDS = 8  # the reaper's threshold here (production: 15 minutes)
CHUNK_SECONDS = 6  # one segment per chunk here (production: 12 s, then 60 s)


def run(report: Report, *, quick: bool) -> None:
    seconds = 18 if quick else 30
    # ultrafast: the faults are the same, the encode is 3× shorter than veryfast on 2 cores.
    os.environ.update(
        TRANSCODE_PRESET="ultrafast",
        TRANSCODE_STALL_SECONDS=str(STALL_SECONDS),
        TRANSCODE_HEARTBEAT_SECONDS="2",
        TRANSCODE_REQUEUE_SECONDS="10",
        TRANSCODE_FIRST_CHUNK_SECONDS=str(CHUNK_SECONDS),
        TRANSCODE_CHUNK_SECONDS=str(CHUNK_SECONDS),
        HEALTHZ_REQUIRE_WORKER="False",
    )
    with common.django_env("faults-worker") as tmp:
        from django_q.models import Schedule

        from tests.factories import UserFactory

        user, password = common.make_user("surgeon")
        UserFactory(username="editor", roles=["Editor"])  # acts for reprocess_videos
        report.step(f"generating a {seconds} s 1080p clip ({seconds // CHUNK_SECONDS} chunks of {CHUNK_SECONDS} s)")
        clip = common.make_clip(tmp / "case.mp4", seconds=seconds, size="1920x1080")
        original_md5 = harness.md5_file(clip)
        schedule = Schedule.objects.filter(func="videos.tasks.reap_stalled").first()
        report.check(
            "the reaper is scheduled",
            schedule is not None,
            f"every {schedule.minutes} min on the default cluster; a chunk is stalled after "
            f"TRANSCODE_STALL_SECONDS (default 900 s)"
            if schedule
            else "no Schedule row",
        )
        with harness.Web(tmp, workers=1, threads=4) as web:
            token = common.jwt(web.port, user.username, password)
            video = harness.queue_video(user, clip)
            _killed_first_encode(report, tmp, web, token, video, original_md5)
            _killed_reprocess(report, tmp, web, token, video)


# ------------------------------------------------------------------------------ chunks


class Chunks:
    """What the chunk rows of one video's job showed while it ran (they go when the job ends)."""

    def __init__(self, video):
        self.video = video
        self.starts: dict[tuple, set] = {}  # (kind, index, start, end) → started_at values seen
        self.attempts: dict[tuple, int] = {}

    def look(self) -> list[dict]:
        from django.db import close_old_connections

        from videos.models import TranscodeChunk

        close_old_connections()
        rows = list(
            TranscodeChunk.objects.filter(job__video_id=self.video.pk).values(
                "pk", "kind", "index", "start", "end", "status", "attempts", "started_at", "heartbeat_at"
            )
        )
        for row in rows:
            key = (row["kind"], row["index"], row["start"], row["end"])
            if row["started_at"]:
                self.starts.setdefault(key, set()).add(row["started_at"])
            self.attempts[key] = max(self.attempts.get(key, 0), row["attempts"])
        return rows

    def twice(self) -> list[str]:
        """The chunks started more than once, as "video 2 (0:12–0:18)"."""
        return [
            f"{kind} {index} ({start:g}–{end:g} s)"
            for (kind, index, start, end), seen in sorted(self.starts.items())
            if len(seen) > 1 or self.attempts.get((kind, index, start, end), 0) > 1
        ]


def _kill_mid_case(report: Report, worker: Worker, video, chunks: Chunks, *, label: str) -> dict:
    """
    SIGKILL the worker's process group while it encodes a chunk past the first (its FFmpeg
    running for half a second); then check that FFmpeg died with it. Returns the chunk row.
    """

    def ready():
        if worker.process.poll() is not None:
            raise RuntimeError(f"the worker exited early:\n{worker.log_tail()}")
        for row in chunks.look():
            if row["kind"] == "video" and row["index"] >= 1 and row["status"] == "running" and worker.encoder_pids():
                return row
        return None

    started = time.monotonic()
    row = harness.wait_for(ready, timeout=240, interval=0.1, what="a chunk past the first being encoded")
    time.sleep(0.5)
    ffmpegs = worker.ffmpeg_pids()
    helpers = [pid for pid in harness.descendants(worker.process.pid) if pid not in ffmpegs]
    os.killpg(worker.process.pid, signal.SIGKILL)
    worker.process.wait()
    report.step(
        f"{label}: SIGKILL to the qcluster group {time.monotonic() - started:.1f} s after the worker started, "
        f"while it encoded chunk {row['index']} ({row['start']:g}–{row['end']:g} s; ffmpeg {ffmpegs}, "
        f"{len(helpers)} cluster processes)"
    )
    gone, took = harness.wait_dead(ffmpegs, timeout=5)
    report.check(
        f"{label}: FFmpeg dies with its worker (PDEATHSIG)",
        gone and bool(ffmpegs),
        f"{len(ffmpegs)} ffmpeg gone {took:.2f} s after the kill"
        if gone
        else f"ffmpeg {[p for p in ffmpegs if harness.alive(p)]} still running after {took:.0f} s",
    )
    for pid in ffmpegs:  # ours in any case; never leave an encoder running
        if harness.alive(pid):
            os.kill(pid, signal.SIGKILL)
    return row


def _watch_until_done(worker: Worker, video, chunks: Chunks) -> tuple[dict, list]:
    """Poll the rows until the job ends; the (time, progress, heartbeat, encoding?) seen on the way."""
    beats = []

    def finished():
        if worker.process.poll() is not None:
            raise RuntimeError(f"the worker exited:\n{worker.log_tail()}")
        chunks.look()
        row = harness.video_row(video.pk)
        beats.append((time.monotonic(), row["progress"], row["heartbeat_at"], bool(worker.encoder_pids())))
        return row if row["job_token"] is None and row["status"] in ("failed", "processed", "published") else None

    return harness.wait_for(finished, timeout=300, interval=0.25, what="the job to finish"), beats


def _heartbeats(report: Report, beats: list) -> None:
    """
    A healthy job must beat more often than TRANSCODE_STALL_SECONDS, or the reaper takes its
    chunks while they are encoded. Measured while chunk FFmpegs run: the longest time the
    video row's heartbeat stayed the same.
    """
    encoding = [b for b in beats if b[3]]
    if not encoding:
        report.check("heartbeat while chunks are encoded", False, "no chunk FFmpeg was ever seen running")
        return
    longest, since, last = 0.0, encoding[0][0], encoding[0][2]
    for seen_at, _, heartbeat, _ in encoding:
        if heartbeat != last:
            since, last = seen_at, heartbeat
        longest = max(longest, seen_at - since)
    progress = sorted({b[1] for b in encoding})
    took = encoding[-1][0] - encoding[0][0]
    report.check(
        "a healthy job beats all through its chunks (or the reaper takes them while they are encoded)",
        longest < STALL_SECONDS,
        f"heartbeat unchanged for up to {longest:.1f} s over {took:.1f} s of encoding "
        f"(reaper limit here {STALL_SECONDS} s, production {15 * 60} s); progress seen {progress}",
    )


def _reap(report: Report, video, chunks: Chunks, killed: dict, *, label: str) -> None:
    """The reaper leaves the dead worker's chunk while its heartbeat is fresh, then queues it again."""
    from django.utils import timezone

    from videos import tasks

    def state() -> dict:
        return next(r for r in chunks.look() if r["pk"] == killed["pk"])

    row = state()
    age = (timezone.now() - row["heartbeat_at"]).total_seconds()
    if age < STALL_SECONDS - 1:
        tasks.reap_stalled()
        early = state()
        report.check(
            f"{label}: the reaper leaves a fresh heartbeat alone",
            early["status"] == "running",
            f"chunk {early['index']} {early['status']} with its heartbeat {age:.1f} s old",
        )
    else:
        report.note(f"{label}: the chunk's heartbeat was already {age:.1f} s old when its worker died")
    due = row["heartbeat_at"] + timedelta(seconds=STALL_SECONDS + 0.5)
    time.sleep(max(0.0, (due - timezone.now()).total_seconds()))
    acted = tasks.reap_stalled()
    after, video_row = state(), harness.video_row(video.pk)
    report.check(
        f"{label}: the reaper queues the dead worker's chunk again (the video is not failed)",
        after["status"] == "queued" and video_row["job_token"] is not None and not video_row["failure_reason"],
        f"chunk {after['index']} {after['status']} (attempts {after['attempts']}) "
        f"{(timezone.now() - row['heartbeat_at']).total_seconds():.1f} s after its last heartbeat; "
        f"reaper acted on {acted}; video {video_row['status']} {video_row['failure_reason']!r}",
    )


def _unsigned(playlist: str) -> str:
    """A playlist without its per-request signed tokens."""
    return re.sub(r"\?token=[^\s\"]*", "", playlist)


def _command(*args: str) -> tuple[bool, str]:
    """``manage.py reprocess_videos …``: (exit 0, its last line — a traceback's is the error)."""
    done = subprocess.run(
        [harness.PYTHON, "manage.py", "reprocess_videos", *args],
        cwd=harness.ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = (done.stdout + done.stderr).strip().splitlines()
    return done.returncode == 0, f"exit {done.returncode}: {lines[-1] if lines else ''}"


def _work_folders(video) -> list:
    return sorted(video.hls_dir.parent.glob(f".work-{video.uuid}-*"))


def _listed_seconds(variant_text: str) -> float:
    return sum(float(x) for x in re.findall(r"#EXTINF:([\d.]+)", variant_text))


def _served_prefix(report: Report, web, token, video, *, label: str) -> None:
    """A first encode cut short serves its finished start and nothing more."""
    from videos.models import Video

    ready = Video.objects.get(pk=video.pk).ready_seconds
    master, variant, segment = harness.first_segment(web.port, token, video.uuid)
    listed = _listed_seconds(variant.text) if variant is not None and variant.status == 200 else 0.0
    report.check(
        f"{label}: its finished start plays, and nothing past it is listed",
        segment is not None
        and segment.status == 200
        and "#EXT-X-ENDLIST" not in variant.text
        and 0 < listed <= ready + 0.01,
        f"master {master.status}, variant {variant.status if variant else '-'} lists {listed:g} s (ready "
        f"{ready:g} s, no ENDLIST: {variant is not None and '#EXT-X-ENDLIST' not in variant.text}), "
        f"first segment {segment.describe() if segment else '-'}",
    )
    # Short of the end: on a growing (EVENT) playlist ffmpeg waits at its end for more.
    played, said = harness.play(web.port, token, video.uuid, seconds=max(1.0, ready - 1))
    report.check(f"{label}: ffmpeg plays the finished start through the app", played, said)


def _finished(report: Report, web, token, video, chunks: Chunks, row: dict, started: float, *, label: str) -> None:
    report.check(
        f"{label}: a new worker finishes the case",
        row["status"] in ("processed", "published"),
        f"{row['status']} after {time.monotonic() - started:.0f} s {row['failure_reason']!r}",
    )
    twice = chunks.twice()
    report.check(
        f"{label}: at most one chunk encoded twice",
        len(twice) <= 1,
        f"{len(chunks.starts)} parts started, encoded twice: {', '.join(twice) or 'none'}",
    )
    _, variant, _ = harness.first_segment(web.port, token, video.uuid)
    ok, said = harness.play(web.port, token, video.uuid)
    report.check(
        f"{label}: the finished case plays through the app (ENDLIST)",
        ok and variant is not None and "#EXT-X-ENDLIST" in variant.text,
        said,
    )


def _killed_first_encode(report: Report, tmp, web, token, video, original_md5: str) -> None:
    label = "first encode"
    chunks = Chunks(video)
    with Worker(tmp, "a") as worker:
        killed = _kill_mid_case(report, worker, video, chunks, label=label)
    row = harness.video_row(video.pk)
    report.check(
        f"{label}: left `processing` by the dead worker",
        row["status"] == "processing" and row["job_token"] is not None,
        f"status {row['status']} at {row['progress']} %",
    )
    _served_prefix(report, web, token, video, label=label)
    _reap(report, video, chunks, killed, label=label)
    report.check(
        f"{label}: the original is untouched",
        harness.md5_file(video.original_file) == original_md5,
        video.original_file.name,
    )
    started = time.monotonic()
    with Worker(tmp, "b") as worker:
        row, beats = _watch_until_done(worker, video, chunks)
    _finished(report, web, token, video, chunks, row, started, label=label)
    _heartbeats(report, beats)
    leftovers = _work_folders(video)
    report.check(f"{label}: no work folder left", not leftovers, ", ".join(p.name for p in leftovers))


def _killed_reprocess(report: Report, tmp, web, token, video) -> None:
    label = "reprocess of a published video"
    before_master, _, before_segment = harness.first_segment(web.port, token, video.uuid)
    if not report.check(
        f"{label}: serving before the reprocess",
        before_segment is not None and before_segment.status == 200,
        f"master {before_master.status}, first segment {before_segment.describe() if before_segment else '-'}",
    ):
        return
    old_key = harness.video_row(video.pk)["hls_key"]
    ok, said = _command(str(video.uuid))
    report.check(f"{label}: reprocess_videos <uuid> queues it", ok and "Queued 1" in said, said)
    video.refresh_from_db()
    chunks = Chunks(video)
    with Worker(tmp, "c") as worker:
        killed = _kill_mid_case(report, worker, video, chunks, label=label)

    def still_serving(when: str) -> None:
        master, variant, segment = harness.first_segment(web.port, token, video.uuid)
        same = segment is not None and segment.status == 200 and segment.body == before_segment.body
        unchanged = _unsigned(master.text) == _unsigned(before_master.text)
        report.check(
            f"{label}: the old ladder still serves {when}",
            same and unchanged,
            f"master {master.status}, variant {variant.status if variant else '-'}, first segment "
            f"{segment.describe() if segment else '-'} ({len(segment.body) if segment else 0} bytes, "
            f"{'same' if same else 'DIFFERENT'} bytes as before; master playlist "
            f"{'unchanged' if unchanged else 'CHANGED'})",
        )

    row = harness.video_row(video.pk)
    report.check(
        f"{label}: status unchanged while the job is dead",
        row["status"] == "published" and row["hls_key"] == old_key,
        f"{row['status']}, progress {row['progress']} %",
    )
    still_serving("while the job is dead")
    _reap(report, video, chunks, killed, label=label)
    still_serving("after the reap")
    started = time.monotonic()
    with Worker(tmp, "d") as worker:
        row, _ = _watch_until_done(worker, video, chunks)
    _finished(report, web, token, video, chunks, row, started, label=label)
    new_key = harness.video_row(video.pk)["hls_key"]
    leftovers = _work_folders(video)
    report.check(
        f"{label}: the new ladder replaced the old one (new key), no work folder left",
        new_key is not None and new_key != old_key and not leftovers,
        f"key {'changed' if new_key != old_key else 'UNCHANGED'}; work folders: "
        f"{', '.join(p.name for p in leftovers) or 'none'}",
    )
