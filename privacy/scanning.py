"""
The privacy scan's tools, with no ORM: one FFmpeg decode that pipes small raw RGB frames at a
few a second (``sample_command``, ``sample_frames``), the classifiers asked of each frame
(``privacy.classify``), and the merging of flagged samples into time ranges
(``merge_hits``). ``scan_file`` does all three for a file and returns ranges only.
"""

import contextlib
import resource
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.conf import settings

from videos import transcoding

from . import classify

# Frames are sampled this wide: enough for the Haar cascade to see a face a tenth of the
# picture high (it needs ~20 px), small enough that decoding dominates the scan's cost.
SAMPLE_WIDTH = 320
FACE_CONFIDENCE = 0.9  # the cascade gives no probability; a detection counts as this


@dataclass(frozen=True)
class Hit:
    """One sampled frame that looked identifying: its time, kinds and probability."""

    at: float
    kinds: tuple[str, ...]
    probability: float


@dataclass
class Found:
    """A flagged stretch ``[start, end)`` in seconds from the first frame."""

    start: float
    end: float
    kinds: list[str] = field(default_factory=list)
    confidence: float = 0.0


@dataclass
class ScanResult:
    ranges: list[Found]
    frames: int
    cpu_seconds: float


def sample_size(probe: transcoding.Probe, width: int = SAMPLE_WIDTH) -> tuple[int, int]:
    """The sampled frames' size: ``width`` wide (never wider than the source), even height."""
    width = min(width, probe.width - probe.width % 2)
    height = max(2, round(width * probe.height / max(probe.width, 1) / 2) * 2)
    return width, height


def sample_command(*, source: Path, probe: transcoding.Probe, fps: float, size: tuple[int, int]) -> list[str]:
    """One decode of the whole file, ``fps`` frames a second at ``size``, as raw RGB on stdout."""
    width, height = size
    return [
        settings.FFMPEG_BIN,
        "-nostdin",
        "-hide_banner",
        "-protocol_whitelist",
        "file",
        "-i",
        str(source),
        "-map",
        probe.video_map,
        "-an",
        "-sn",
        "-vf",
        f"fps={fps:g},scale={width}:{height}:flags=area",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-loglevel",
        "error",
        "pipe:",
    ]


def sample_frames(argv: list[str], size: tuple[int, int], *, deadline: float) -> Iterator[np.ndarray]:
    """The frames ``argv`` pipes out, one array each; FFmpeg is killed if this stops early."""
    width, height = size
    frame_bytes = width * height * 3
    process = subprocess.Popen(  # noqa: S603 (argv built here, no shell)
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        assert process.stdout is not None
        while True:
            if time.monotonic() > deadline:
                raise transcoding.MediaError("The privacy scan took too long.")
            data = process.stdout.read(frame_bytes)
            if len(data) < frame_bytes:
                break
            yield np.frombuffer(data, dtype=np.uint8).reshape(height, width, 3)
        if process.wait(timeout=60) != 0:
            raise transcoding.MediaError("The recording could not be decoded for the privacy scan.")
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()


def classify_frame(frame: np.ndarray, at: float) -> Hit | None:
    """What ``frame`` (sampled at ``at`` s) shows that may identify someone, else None."""
    kinds, probability = [], 0.0
    outside = classify.out_of_body_classifier()(frame)
    if outside >= classify.OUT_OF_BODY_THRESHOLD:
        kinds.append("out_of_body")
        probability = outside
    if classify.faces(frame):
        kinds.append("face")
        probability = max(probability, FACE_CONFIDENCE)
    return Hit(at, tuple(kinds), probability) if kinds else None


def merge_hits(hits: list[Hit], *, step: float, duration: float, gap: int = 2) -> list[Found]:
    """
    Flagged samples as ranges: a sample at ``t`` stands for ``[t, t + step)``; samples at most
    ``gap`` steps apart join (a missed detection between two hits is most likely a miss). The
    confidence is the mean probability of the range's samples.
    """
    ranges: list[Found] = []
    probabilities: list[list[float]] = []
    for hit in sorted(hits, key=lambda h: h.at):
        end = min(duration, hit.at + step) if duration else hit.at + step
        if ranges and hit.at - ranges[-1].end <= (gap - 1) * step + 1e-6:
            ranges[-1].end = max(ranges[-1].end, end)
            ranges[-1].kinds = sorted(set(ranges[-1].kinds) | set(hit.kinds))
            probabilities[-1].append(hit.probability)
        else:
            ranges.append(Found(hit.at, max(end, hit.at + 0.001), sorted(hit.kinds)))
            probabilities.append([hit.probability])
    for found, values in zip(ranges, probabilities, strict=True):
        found.confidence = round(min(1.0, sum(values) / len(values)), 3)
        found.start, found.end = round(found.start, 3), round(found.end, 3)
    return ranges


def scan_file(source: Path, *, fps: float | None = None) -> ScanResult:
    """Sample ``source`` and return its flagged ranges, how many frames were looked at, and the CPU it took."""
    fps = fps or settings.PRIVACY_SAMPLE_FPS
    probe = transcoding.probe(source)
    size = sample_size(probe)
    argv = sample_command(source=source, probe=probe, fps=fps, size=size)
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    before_self = time.thread_time()
    hits, frames = [], 0
    deadline = time.monotonic() + settings.TRANSCODE_TIMEOUT_SECONDS
    for index, frame in enumerate(sample_frames(argv, size, deadline=deadline)):
        frames += 1
        if (hit := classify_frame(frame, index / fps)) is not None:
            hits.append(hit)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before_children.ru_utime) + (after.ru_stime - before_children.ru_stime)
    cpu += time.thread_time() - before_self
    return ScanResult(merge_hits(hits, step=1 / fps, duration=probe.length), frames, round(cpu, 3))
