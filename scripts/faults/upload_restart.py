"""
upload-restart: the web server dies, twice, in the middle of a tus PATCH.

A ~200 MB file (uncompressed 1080p AVI: real video, so the sniff and ffprobe at completion
accept it) goes up in 8 MiB PATCHes over raw HTTP. At ~40 % a PATCH is cut by SIGKILL of
gunicorn's process group (nothing can be saved for that PATCH); at ~70 % by SIGTERM, the way a
deploy restarts the service (the worker sees the connection drop and saves what it received).
Each time gunicorn starts again on the same port, the client asks HEAD for the offset and
resumes. The stored original and the MD5 the server computed while receiving must equal the
source's.
"""

import base64
import signal
import socket
import time

from . import harness
from .harness import Report, Web, common, request

CHUNK = 8 * 1024 * 1024
FRAME = 1920 * 1080 * 3 // 2  # one yuv420p frame


def run(report: Report, *, quick: bool) -> None:
    with common.django_env("faults-upload") as tmp:
        from videos.models import Upload, Video

        user, password = common.make_user("uploader")
        source = tmp / "theatre.avi"
        frames = 64  # 64 × 3.1 MB ≈ 200 MB
        common.ffmpeg(
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1920x1080:rate=30",
            "-frames:v",
            str(frames),
            "-c:v",
            "rawvideo",
            "-pix_fmt",
            "yuv420p",
            str(source),
        )
        data = source.read_bytes()
        size, source_md5 = len(data), harness.md5_file(source)
        report.step(f"source: {size / 1e6:.0f} MB, md5 {source_md5}")

        web = Web(tmp, workers=2, threads=4)
        try:
            web.start()
            token = common.jwt(web.port, user.username, password)
            auth = {**harness.bearer(token), "Tus-Resumable": "1.0.0"}
            meta = f"filename {base64.b64encode(b'theatre.avi').decode()},title {base64.b64encode(b'Restart').decode()}"
            created = request(
                web.port,
                "POST",
                "/api/v1/uploads/",
                headers={**auth, "Upload-Length": str(size), "Upload-Metadata": meta},
            )
            if not report.check("tus creation", created.status == 201, created.describe()):
                return
            path = "/" + created.headers["location"].split("/", 3)[3]

            def patch(offset: int, end: int):
                return request(
                    web.port,
                    "PATCH",
                    path,
                    body=data[offset:end],
                    timeout=60,
                    headers={**auth, "Content-Type": "application/offset+octet-stream", "Upload-Offset": str(offset)},
                )

            def send_until(offset: int, target: int) -> int:
                while offset < target:
                    answer = patch(offset, min(offset + CHUNK, target))
                    if answer.status != 204:
                        raise RuntimeError(f"PATCH at {offset}: {answer.describe()} {answer.text[:300]}")
                    offset = int(answer.headers["upload-offset"])
                return offset

            offset = send_until(0, int(size * 0.4))
            for how, sig, fraction in (("SIGKILL", signal.SIGKILL, 0.7), ("SIGTERM", signal.SIGTERM, 1.0)):
                sent, stopped = _cut_patch(web, path, auth, data, offset, sig)
                report.step(
                    f"{how} to gunicorn mid-PATCH at {offset / size:.0%}: {sent / 1e6:.1f} MB of a "
                    f"{2 * CHUNK / 1e6:.0f} MB PATCH sent; gunicorn gone {stopped:.1f} s after the signal"
                )
                if sig == signal.SIGTERM:
                    report.check(
                        "SIGTERM: gunicorn exits promptly (the cut PATCH ends, nothing waits for graceful_timeout)",
                        stopped < 15,
                        f"{stopped:.1f} s",
                    )
                took = web.start()
                head = request(web.port, "HEAD", path, headers=auth)
                server_offset = int(head.headers.get("upload-offset", -1))
                row = Upload.objects.get(pk=path.rstrip("/").rsplit("/", 1)[1])
                on_disk = row.path.stat().st_size
                if sig == signal.SIGKILL:
                    # Killed mid-write: nothing of the cut PATCH can have been saved.
                    ok = head.status == 200 and server_offset == offset
                    expect = f"= {offset} (the last acknowledged offset)"
                else:
                    # The worker saw the connection drop and saved the bytes it had received.
                    ok = head.status == 200 and offset < server_offset <= offset + sent
                    expect = f"in ({offset}, {offset + sent}] (bytes received before the cut)"
                report.check(
                    f"{how}: HEAD after restart ({took:.1f} s) gives the offset",
                    ok,
                    f"HEAD {head.status}, Upload-Offset {server_offset} {expect}; part file {on_disk} bytes",
                )
                offset = send_until(server_offset, int(size * fraction) if fraction < 1 else size - CHUNK)
            last = patch(offset, size)
            report.check(
                "the last PATCH completes the upload",
                last.status == 204 and "x-video-id" in last.headers,
                f"{last.describe()}, Upload-Offset {last.headers.get('upload-offset')}, "
                f"X-Video-Id {last.headers.get('x-video-id')}",
            )
            if last.status != 204:
                return
            video = Video.objects.get(uuid=last.headers["x-video-id"])
            stored = video.original_file
            stored_md5 = harness.md5_file(stored)
            report.check(
                "stored original = source",
                stored_md5 == source_md5 and stored.stat().st_size == size,
                f"md5 {stored_md5}, {stored.stat().st_size} bytes",
            )
            report.check(
                "server-computed MD5 on the video = source",
                video.md5 == source_md5 and video.size_bytes == size,
                f"video.md5 {video.md5}, size_bytes {video.size_bytes}",
            )
            parts = sorted((tmp / "media" / "uploads").glob("*.part"))
            report.check("no partial upload file left", not parts, f"{len(parts)} .part files")
            report.check("gunicorn was started 3 times on one port", web.starts == 3, f"port {web.port}")
        finally:
            web.stop()


def _cut_patch(web: Web, path: str, auth: dict, data: bytes, offset: int, sig: int) -> tuple[int, float]:
    """
    Start a 2-chunk PATCH at ``offset``, send half of it, signal gunicorn, then drop the
    connection the way a client whose server vanished would. Returns (bytes sent, seconds
    until gunicorn's master had exited).
    """
    length = 2 * CHUNK
    head = (
        f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1:{web.port}\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in auth.items())
        + f"Content-Type: application/offset+octet-stream\r\nUpload-Offset: {offset}\r\n"
        f"Content-Length: {length}\r\n\r\n"
    )
    sock = socket.create_connection(("127.0.0.1", web.port), timeout=10)
    sent = 0
    try:
        sock.sendall(head.encode())
        half = data[offset : offset + CHUNK]
        sock.sendall(half)
        sent = len(half)
        time.sleep(0.5)  # let the server take it in
        signalled = time.monotonic()
        web.signal(sig, group=sig == signal.SIGKILL)  # SIGTERM goes to the master, as systemd's would
        if sig == signal.SIGTERM:
            time.sleep(1)  # the worker is now shutting down with our request in flight
    finally:
        sock.close()
    web.process.wait(timeout=90)
    stopped = time.monotonic() - signalled
    harness.signal_group(web.process, signal.SIGKILL)
    return sent, stopped
