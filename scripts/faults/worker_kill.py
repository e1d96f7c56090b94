"""
worker-kill: the transcode worker dies (SIGKILL of the qcluster process group) mid-encode.

FFmpeg must die with it (PR_SET_PDEATHSIG in videos.transcoding), the video must not stay
`processing` (the reaper, videos.tasks.reap_stalled, fails it with a reason once its heartbeat
is older than TRANSCODE_STALL_SECONDS), nothing half-written may be served, and
`manage.py reprocess_videos --failed` with a new worker must make it playable. While that
healthy job runs, its heartbeat must beat more often than the reaper's limit. Second round: a
published video is reprocessed and the worker killed again; the old ladder keeps serving.

The kill comes once the job reports > 10 %, or after a quarter of the clip's length of encoding
if the progress stays silent, so it always lands mid-encode.
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
from .harness import Report, Worker, common, request

STALL_SECONDS = 8  # the reaper's threshold here (production: 15 minutes)


def run(report: Report, *, quick: bool) -> None:
    seconds = 12 if quick else 30
    # ultrafast: the faults are the same, the encode is 3× shorter than veryfast on 2 cores.
    os.environ.update(
        TRANSCODE_PRESET="ultrafast", TRANSCODE_STALL_SECONDS=str(STALL_SECONDS), HEALTHZ_REQUIRE_WORKER="False"
    )
    with common.django_env("faults-worker") as tmp:
        from django_q.models import Schedule

        from tests.factories import UserFactory

        user, password = common.make_user("surgeon")
        UserFactory(username="editor", roles=["Editor"])  # acts for reprocess_videos
        report.step(f"generating a {seconds} s 1080p clip")
        clip = common.make_clip(tmp / "case.mp4", seconds=seconds, size="1920x1080")
        original_md5 = harness.md5_file(clip)
        schedule = Schedule.objects.filter(func="videos.tasks.reap_stalled").first()
        report.check(
            "the reaper is scheduled",
            schedule is not None,
            f"every {schedule.minutes} min on the default cluster; a job is stalled after "
            f"TRANSCODE_STALL_SECONDS (default 900 s)"
            if schedule
            else "no Schedule row",
        )
        with harness.Web(tmp, workers=1, threads=4) as web:
            token = common.jwt(web.port, user.username, password)
            video = harness.queue_video(user, clip)
            # FFmpeg takes about as long as the clip here; kill well before the end.
            patience = seconds / 4
            _killed_first_encode(report, tmp, web, token, video, original_md5, patience)
            _killed_reprocess(report, tmp, web, token, video, patience)


def _kill_mid_encode(report: Report, worker: Worker, video, *, label: str, patience: float, above: int = 10) -> bool:
    """
    SIGKILL the worker's process group once the job reports > ``above`` %, or once the ladder
    FFmpeg has been encoding for ``patience`` s (progress may stay silent: see _heartbeats);
    then check that FFmpeg died with it.
    """
    encoding_since: list[float] = []

    def ready():
        if worker.process.poll() is not None:
            raise RuntimeError(f"the worker exited early:\n{worker.log_tail()}")
        row = harness.video_row(video.pk)
        if not row["job_token"] or not worker.ladder_pids():
            return None
        encoding_since[:] = encoding_since or [time.monotonic()]
        if row["progress"] > above:
            return row, f"progress {row['progress']} % > {above} %"
        if time.monotonic() - encoding_since[0] >= patience:
            return row, f"progress still {row['progress']} % after {patience:g} s of encoding"
        return None

    started = time.monotonic()
    row, trigger = harness.wait_for(ready, timeout=240, interval=0.2, what="the ladder encode")
    ffmpegs = worker.ffmpeg_pids()
    helpers = [pid for pid in harness.descendants(worker.process.pid) if pid not in ffmpegs]
    os.killpg(worker.process.pid, signal.SIGKILL)
    worker.process.wait()
    report.step(
        f"{label}: SIGKILL to the qcluster group {time.monotonic() - started:.1f} s after the worker "
        f"started ({trigger}; ffmpeg {ffmpegs}, {len(helpers)} cluster processes)"
    )
    gone, took = harness.wait_dead(ffmpegs, timeout=5)
    report.check(
        f"{label}: FFmpeg dies with its worker (PDEATHSIG)",
        gone,
        f"{len(ffmpegs)} ffmpeg gone {took:.2f} s after the kill"
        if gone
        else f"ffmpeg {[p for p in ffmpegs if harness.alive(p)]} still running after {took:.0f} s",
    )
    for pid in ffmpegs:  # ours in any case; never leave an encoder running
        if harness.alive(pid):
            os.kill(pid, signal.SIGKILL)
    return gone


def _watch_until_done(worker: Worker, video) -> tuple[dict, list]:
    """Poll the row until the job ends; the (time, progress, heartbeat, encoding?) seen on the way."""
    beats = []

    def finished():
        if worker.process.poll() is not None:
            raise RuntimeError(f"the worker exited:\n{worker.log_tail()}")
        row = harness.video_row(video.pk)
        beats.append((time.monotonic(), row["progress"], row["heartbeat_at"], bool(worker.ladder_pids())))
        return row if row["status"] in ("failed", "processed", "published") and row["job_token"] is None else None

    return harness.wait_for(finished, timeout=300, interval=0.25, what="the job to finish"), beats


def _heartbeats(report: Report, beats: list) -> None:
    """
    A healthy job must beat more often than TRANSCODE_STALL_SECONDS, or the reaper fails it
    while it works. Measured while the ladder FFmpeg runs: the longest time the row's
    heartbeat stayed the same.
    """
    encoding = [b for b in beats if b[3]]
    if not encoding:
        report.check("heartbeat during the ladder encode", False, "the ladder FFmpeg was never seen running")
        return
    longest, since, last = 0.0, encoding[0][0], encoding[0][2]
    for seen_at, _, heartbeat, _ in encoding:
        if heartbeat != last:
            since, last = seen_at, heartbeat
        longest = max(longest, seen_at - since)
    progress = sorted({b[1] for b in encoding})
    took = encoding[-1][0] - encoding[0][0]
    # Silent for most of the encode means silent for hours on a long case: past any limit.
    report.check(
        "a healthy job beats all through its encode (or the reaper fails long cases while they run)",
        longest < STALL_SECONDS and longest < took / 2,
        f"heartbeat unchanged for up to {longest:.1f} s of a {took:.1f} s ladder encode "
        f"(reaper limit here {STALL_SECONDS} s, production {15 * 60} s); progress seen {progress}",
    )


def _reap(report: Report, video, *, label: str) -> dict:
    from django.utils import timezone

    from videos import tasks

    row = harness.video_row(video.pk)
    age = (timezone.now() - row["heartbeat_at"]).total_seconds()
    if age < STALL_SECONDS - 1:
        early = tasks.reap_stalled()
        report.check(
            f"{label}: the reaper leaves a fresh heartbeat alone", early == 0, f"{early} reaped at {age:.1f} s old"
        )
    else:
        report.note(
            f"{label}: the heartbeat was already {age:.1f} s old when the worker died (silent while encoding), "
            "so the early-reap rule cannot be checked here"
        )
    due = row["heartbeat_at"] + timedelta(seconds=STALL_SECONDS + 0.5)
    time.sleep(max(0.0, (due - timezone.now()).total_seconds()))
    reaped = tasks.reap_stalled()
    report.check(
        f"{label}: the reaper takes the silent job",
        reaped == 1,
        f"{reaped} reaped {(timezone.now() - row['heartbeat_at']).total_seconds():.1f} s after the last heartbeat",
    )
    return harness.video_row(video.pk)


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


def _killed_first_encode(report: Report, tmp, web, token, video, original_md5: str, patience: float) -> None:
    label = "first encode"
    master_path = f"/api/v1/videos/{video.uuid}/hls/master.m3u8"
    with Worker(tmp, "a") as worker:
        _kill_mid_encode(report, worker, video, label=label, patience=patience)
    row = harness.video_row(video.pk)
    report.check(
        f"{label}: left `processing` by the dead worker",
        row["status"] == "processing",
        f"status {row['status']} at {row['progress']} %",
    )
    master = request(web.port, "GET", master_path, headers=harness.bearer(token))
    report.check(
        f"{label}: no half-written ladder is served",
        master.status in (404, 409) and not video.hls_dir.exists(),
        f"master {master.status} {(master.json() or {}).get('detail', '')!r}; "
        f"hls/<uuid>/ exists: {video.hls_dir.exists()}",
    )
    row = _reap(report, video, label=label)
    report.check(
        f"{label}: reaped to `failed` with a reason",
        row["status"] == "failed" and bool(row["failure_reason"]) and row["job_token"] is None,
        f"{row['status']}: {row['failure_reason']!r}",
    )
    detail = request(web.port, "GET", f"/api/v1/videos/{video.uuid}/", headers=harness.bearer(token)).json() or {}
    report.check(
        f"{label}: the uploader sees it through the API",
        detail.get("status") == "failed",
        f"status {detail.get('status')!r}, reason {detail.get('failure_reason')!r}",
    )
    master = request(web.port, "GET", master_path, headers=harness.bearer(token))
    leftovers = _work_folders(video)
    report.check(
        f"{label}: still nothing served after the reap", master.status in (404, 409), f"master {master.status}"
    )
    if leftovers:
        report.note(
            f"{label}: the killed job's work folder is left on disk, never served and never removed: "
            f"{', '.join(p.name for p in leftovers)} ({harness.dir_size(leftovers[0]) / 1e6:.1f} MB)"
        )
    report.check(
        f"{label}: the original is untouched",
        harness.md5_file(video.original_file) == original_md5,
        video.original_file.name,
    )

    ok, said = _command("--failed")
    report.check("reprocess_videos --failed queues it", ok and "Queued 1" in said, said)
    started = time.monotonic()
    with Worker(tmp, "b") as worker:
        row, beats = _watch_until_done(worker, video)
    report.check(
        "a new worker recovers it",
        row["status"] in ("processed", "published"),
        f"{row['status']} after {time.monotonic() - started:.0f} s {row['failure_reason']!r}",
    )
    _heartbeats(report, beats)
    ok, said = harness.play(web.port, token, video.uuid)
    report.check("recovered video plays through the app", ok, said)
    leftovers = _work_folders(video)
    if leftovers:
        report.note(
            f"after the recovery, {len(leftovers)} work folder(s) of the killed job remain: "
            f"{harness.dir_size(leftovers[0]) / 1e6:.1f} MB (the reaper should remove them)"
        )


def _killed_reprocess(report: Report, tmp, web, token, video, patience: float) -> None:
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
    with Worker(tmp, "c") as worker:
        _kill_mid_encode(report, worker, video, label=label, patience=patience)

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
        row["status"] == "published",
        f"{row['status']}, progress {row['progress']} %",
    )
    still_serving("while the job is dead")
    row = _reap(report, video, label=label)
    report.check(
        f"{label}: reaped, still published, reason recorded",
        row["status"] == "published"
        and row["failure_reason"].startswith("Reprocessing failed")
        and row["hls_key"] == old_key,
        f"{row['status']}: {row['failure_reason']!r}",
    )
    still_serving("after the reap")
    ok, said = harness.play(web.port, token, video.uuid)
    report.check(f"{label}: plays end to end after the failed reprocess", ok, said)
    leftovers = _work_folders(video)
    if leftovers:
        report.note(
            f"{label}: {len(leftovers)} work folder(s) of killed jobs remain "
            f"({sum(harness.dir_size(p) for p in leftovers) / 1e6:.1f} MB)"
        )
