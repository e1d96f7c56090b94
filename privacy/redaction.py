"""
The redacted recording, with no ORM: one FFmpeg run over the original that blurs or blacks out
the decided ranges, blurs the masks' rectangles over the whole picture, and cuts the ranges
decided "cut" out of picture and sound. The transcode then reads it instead of the original
(``videos.services.transcode.register_source_provider``), so every rung, the poster and the
storyboard come from redacted frames.

The picture is written losslessly (x264 ``-qp 0``): outside the decided ranges its frames are
the original's, so the new ladder's frames there are what the old one's were. Only cuts take
this way: a cut changes every later timestamp, so applying it re-encodes the whole ladder.

Blur, black-out and masks need no render: they are a picture edit every chunk of the
transcode applies as it encodes (``picture_graph``), so applying them re-encodes only the
chunks whose stretch of the timeline they change; the others are taken from the served ladder.
"""

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from videos import transcoding

BLUR = "blur"
BLACK = "black"
CUT = "cut"


@dataclass(frozen=True)
class Span:
    """``[start, end)`` seconds of the original, and what to do with it."""

    start: float
    end: float
    decision: str


def _inside(spans: list[Span], var: str = "t", base: float = 0.0) -> str:
    return "+".join(f"gte({var},{base + s.start:.3f})*lt({var},{base + s.end:.3f})" for s in spans)


def merged_cuts(spans: list[Span]) -> list[Span]:
    """The cut spans, overlapping ones joined, in order."""
    cuts: list[Span] = []
    for span in sorted((s for s in spans if s.decision == CUT), key=lambda s: s.start):
        if cuts and span.start <= cuts[-1].end:
            cuts[-1] = Span(cuts[-1].start, max(cuts[-1].end, span.end), CUT)
        else:
            cuts.append(span)
    return cuts


def cut_seconds(spans: list[Span], duration: float) -> float:
    """How much shorter the cuts make a recording of ``duration`` seconds."""
    return sum(max(0.0, min(s.end, duration) - s.start) for s in merged_cuts(spans))


def after_cuts(seconds: float, cuts: list[Span]) -> float:
    """Where ``seconds`` of the original lands in the redacted recording (a cut moment: where the cut is)."""
    shift = 0.0
    for cut in cuts:
        if seconds >= cut.end:
            shift += cut.end - cut.start
        elif seconds > cut.start:
            shift += seconds - cut.start
    return seconds - shift


def _shift(cuts: list[Span], var: str) -> str:
    """Seconds to take off a timestamp ``var`` that comes after cuts (the cut stretches before it)."""
    return "+".join(f"gte({var},{c.end:.3f})*{c.end - c.start:.3f}" for c in cuts)


def _blur(radius_share: int) -> str:
    return (
        f"boxblur=luma_radius=min(w\\,h)/{radius_share}:luma_power=4:"
        f"chroma_radius=min(cw\\,ch)/{radius_share}:chroma_power=4"
    )


def video_graph(
    spans: list[Span], masks: list[list[float]], video_map: str, *, base: float = 0.0, out: str = "v"
) -> str:
    """
    The picture's filter graph, ``[out]`` out: masks, then blur/black over ranges, then the
    cuts. ``base``: the timestamp of the recording's start (``t`` counts from it).
    """
    steps = [f"[{video_map}]null[v0]"]
    label = "v0"
    for i, (x, y, w, h) in enumerate(masks):
        steps.append(
            f"[{label}]split[m{i}a][m{i}b];"
            f"[m{i}b]crop=w=iw*{w:.4f}:h=ih*{h:.4f}:x=iw*{x:.4f}:y=ih*{y:.4f},{_blur(4)}[m{i}c];"
            f"[m{i}a][m{i}c]overlay=x=W*{x:.4f}:y=H*{y:.4f}[mv{i}]"
        )
        label = f"mv{i}"
    blurred = [s for s in spans if s.decision == BLUR]
    blacked = [s for s in spans if s.decision == BLACK]
    filters = []
    if blurred:
        filters.append(f"{_blur(6)}:enable='{_inside(blurred, base=base)}'")
    if blacked:
        filters.append(f"drawbox=x=0:y=0:w=iw:h=ih:color=black:t=fill:enable='{_inside(blacked, base=base)}'")
    cuts = merged_cuts(spans)
    if cuts:
        if base:
            raise ValueError("cuts are rendered on a timeline from zero")
        filters.append(f"select='not({_inside(cuts)})'")
        filters.append(f"setpts='PTS-({_shift(cuts, 'T')})/TB'")
    steps.append(f"[{label}]" + (",".join(filters) or "null") + f"[{out}]")
    return ";".join(steps)


def picture_graph(spans: list[Span], masks: list[list[float]], *, base: float) -> str:
    """
    The transcode's picture edit (``videos.services.transcode.register_picture_provider``):
    masks, blur and black-out, from ``[pic_in]`` to ``[pic_out]`` on the source's own
    timestamps (``base``, its first). No cuts: those change the timeline (``render_command``).
    """
    if any(s.decision == CUT for s in spans):
        raise ValueError("a cut is rendered, not edited into the picture")
    return video_graph(spans, masks, "pic_in", base=base, out="pic_out")


def audio_graph(spans: list[Span]) -> str:
    cuts = merged_cuts(spans)
    chain = "[0:a:0]anull"
    if cuts:
        chain += f",aselect='not({_inside(cuts)})',asetpts='PTS-({_shift(cuts, 'T')})/TB'"
    return chain + "[a]"


def render_command(
    *, source: Path, target: Path, probe: transcoding.Probe, spans: list[Span], masks: list[list[float]]
) -> list[str]:
    """The whole redacted recording (Matroska: lossless H.264, FLAC), metadata stripped."""
    graph = video_graph(spans, masks, probe.video_map)
    if probe.has_audio:
        graph += ";" + audio_graph(spans)
    argv = [
        settings.FFMPEG_BIN,
        *transcoding.INPUT_OPTIONS,
        "-y",
        "-i",
        str(source),
        "-filter_complex",
        graph,
        "-map",
        "[v]",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-qp",
        "0",
    ]
    if probe.has_audio:
        argv += ["-map", "[a]", "-c:a", "flac"]
    argv += [
        "-map_metadata",
        "-1",
        "-map_chapters",
        "-1",
        "-f",
        "matroska",
        "-loglevel",
        "error",
        str(target),
    ]
    return argv
