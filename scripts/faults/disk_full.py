"""
disk-full: MEDIA_ROOT fills up in the middle of a transcode.

MEDIA_ROOT is a tmpfs just big enough for what is already there (a small published video and
the new case's original) plus a little: FFmpeg runs out of space while writing the ladder's
chunks. The chunk is tried once more, then the video must end `failed` with a reason that names
the disk, the work folder and any partial ladder must be gone (the space is given back), the
original must be unchanged, and gunicorn must keep serving the API and the other video while it
happens. The job (planning task, then chunk tasks) runs in this process, as a worker runs it.
"""

# The commands run here are fixed (mount, df), never user input.
# ruff: noqa: S603, S607

import re
import shutil
import subprocess
import threading
import time

from . import harness
from .harness import Report, Web, common, request

HEADROOM = 2 * 1024 * 1024  # free space left for the new ladder: less than its first segments
DISK_WORDS = re.compile(r"no space|disk|ENOSPC|storage is full", re.I)


def _mount(target, size: int) -> None:
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(target)], check=True)


def _resize(target, size: int) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(target)], check=True)


def _usage(target) -> tuple[int, int]:
    done = subprocess.run(["df", "-B1", "--output=used,size", str(target)], capture_output=True, text=True, check=True)
    used, size = done.stdout.split()[-2:]
    return int(used), int(size)


def run(report: Report, *, quick: bool) -> None:
    import os

    os.environ.update(TRANSCODE_PRESET="ultrafast", HEALTHZ_REQUIRE_WORKER="False")
    seconds = 10 if quick else 20
    with common.django_env("faults-disk") as tmp:
        user, password = common.make_user("surgeon")
        media = tmp / "media"
        small = common.make_clip(tmp / "small.mp4", seconds=2, size="320x240")
        case = common.make_clip(tmp / "case.mp4", seconds=seconds, size="1280x720")
        _mount(media, case.stat().st_size * 2 + 32 * 1024 * 1024)
        try:
            (media / "tmp").mkdir()
            # A video that is already published: it must keep playing while the disk is full.
            shutil.move(small, media / "tmp" / "small.mp4")
            served = common.video_from_file(user, media / "tmp" / "small.mp4", transcode=True)
            case_md5 = harness.md5_file(case)
            shutil.copyfile(case, tmp / "case-copy.mp4")  # for an upload attempt on the full disk
            shutil.move(case, media / "tmp" / "case.mp4")
            video = harness.queue_video(user, media / "tmp" / "case.mp4")
            from django_q.models import OrmQ

            OrmQ.objects.all().delete()  # the job runs here, below, as a worker would run it
            used, _ = _usage(media)
            size = used + HEADROOM
            _resize(media, size)
            report.step(
                f"MEDIA_ROOT: tmpfs of {size / 1e6:.1f} MB, {used / 1e6:.1f} MB used "
                f"(original {video.size_bytes / 1e6:.1f} MB, {seconds} s 720p); "
                f"{HEADROOM / 1e6:.1f} MB free for the ladder"
            )
            with Web(tmp, workers=1, threads=4) as web:
                token = common.jwt(web.port, user.username, password)
                _transcode_on_full_disk(
                    report, web, token, video, served, case_md5, media, used, label="fills up mid-ladder"
                )
                # Second round: not a byte free when the job starts (uploads filled the disk).
                used, _ = _usage(media)
                _resize(media, used)
                from videos import services

                video = services.video_reprocess(user=user, video=video)
                OrmQ.objects.all().delete()
                report.step(f"MEDIA_ROOT resized to {used / 1e6:.2f} MB: full before the reprocess starts")
                _transcode_on_full_disk(
                    report, web, token, video, served, case_md5, media, used, label="full from the start"
                )
                _upload_on_full_disk(report, web, token, tmp / "case-copy.mp4", served)
        finally:
            subprocess.run(["umount", str(media)], check=False)


def _transcode_on_full_disk(
    report, web, token, video, served, case_md5: str, media, used_before: int, *, label: str
) -> None:
    from videos.models import Video

    # Clients keep using the site while the transcode runs out of space.
    samples: list[harness.Answer] = []
    stop = threading.Event()

    def client():
        while not stop.is_set():
            samples.append(request(web.port, "GET", "/api/v1/videos/", headers=harness.bearer(token)))
            time.sleep(0.1)

    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    started = time.monotonic()
    try:
        # The planning task, then every chunk task, here, as a transcode worker runs them.
        outcome = common.transcode_here(video.pk, video.job_token)
    except Exception as error:  # noqa: BLE001 (reported as the failure it is)
        outcome = f"raised {error.__class__.__name__}: {error}"
    finally:
        stop.set()
        thread.join(timeout=15)
    took = time.monotonic() - started
    video = Video.objects.get(pk=video.pk)
    report.check(
        f"{label}: the transcode stops with a failure",
        video.status == "failed" and video.job_token is None,
        f"{video.status} after {took:.1f} s; job outcome {outcome[:160]!r}",
    )
    report.check(
        f"{label}: the reason names the disk",
        bool(DISK_WORDS.search(video.failure_reason)) and str(media) not in video.failure_reason,
        repr(video.failure_reason),
    )
    detail = request(web.port, "GET", f"/api/v1/videos/{video.uuid}/", headers=harness.bearer(token)).json() or {}
    report.check(
        f"{label}: the uploader sees the reason through the API",
        detail.get("status") == "failed" and detail.get("failure_reason") == video.failure_reason,
        f"status {detail.get('status')!r}",
    )
    work = sorted((media / "hls").glob(".work-*")) + sorted((media / "hls").glob(".old-*"))
    report.check(
        f"{label}: no work folder or partial ladder left",
        not work and not video.hls_dir.exists(),
        f"{len(work)} work folders, hls/<uuid>/ exists: {video.hls_dir.exists()}",
    )
    used_after, size = _usage(media)
    report.check(
        f"{label}: the space is given back",
        used_after <= used_before + 64 * 1024,
        f"{used_after / 1e6:.2f} MB used after, {used_before / 1e6:.2f} MB before, of {size / 1e6:.1f} MB",
    )
    stored_md5 = harness.md5_file(video.original_file)
    report.check(
        f"{label}: the original is unchanged",
        stored_md5 == case_md5 and video.original_file.stat().st_size == video.size_bytes,
        f"md5 {stored_md5}",
    )
    failed = [a for a in samples if a.status != 200]
    report.check(
        f"{label}: the API kept serving during the transcode",
        samples and not failed,
        f"{len(samples) - len(failed)}/{len(samples)} list requests 200, slowest "
        f"{max((a.seconds for a in samples), default=0):.2f} s",
    )
    master, variant, segment = harness.first_segment(web.port, token, served.uuid)
    report.check(
        f"{label}: the published video still plays on the full disk",
        segment is not None and segment.status == 200,
        f"master {master.status}, variant {variant.status if variant else '-'}, "
        f"segment {segment.describe() if segment else '-'}",
    )
    health = request(web.port, "GET", "/healthz")
    report.check(
        f"{label}: /healthz", health.status == 200, f"{health.describe()} {(health.json() or {}).get('failed')}"
    )


def _upload_on_full_disk(report, web, token, source, served) -> None:
    """A tus upload while MEDIA_ROOT has no space: refused with a message, never a 500."""
    import base64

    data = source.read_bytes()
    auth = {**harness.bearer(token), "Tus-Resumable": "1.0.0"}
    created = request(
        web.port,
        "POST",
        "/api/v1/uploads/",
        headers={
            **auth,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": f"filename {base64.b64encode(b'b.mp4').decode()}",
        },
    )
    if created.status != 201:
        report.check(
            "upload on the full disk is refused cleanly",
            created.status in (503, 507) and not created.leaks(),
            f"creation {created.describe()} {created.text[:160]!r}",
        )
        return
    path = "/" + created.headers["location"].split("/", 3)[3]
    # A small first chunk, so the whole body is sent before the server answers.
    patch = request(
        web.port,
        "PATCH",
        path,
        body=data[: 256 * 1024],
        timeout=60,
        headers={**auth, "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"},
    )
    detail = (patch.json() or {}).get("detail", "") if patch.status else ""
    report.check(
        "upload on the full disk is refused cleanly (507/503 with a message)",
        patch.status in (503, 507) and bool(DISK_WORDS.search(detail)) and not patch.leaks(),
        f"PATCH of 256 KiB → {patch.describe()} {patch.text[:160]!r}",
    )
    head = request(web.port, "HEAD", path, headers=auth)
    report.check(
        "the upload can be resumed later",
        head.status == 200,
        f"HEAD {head.status}, Upload-Offset {head.headers.get('upload-offset')}",
    )
    request(web.port, "DELETE", path, headers=auth)
