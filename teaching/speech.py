"""
Speech-to-text for draft captions (issue #16), optional: the FFmpeg command that takes a
recording's first audio track to the WAV a transcriber reads, the transcriber in force, and
the built-in one (faster-whisper on a model folder the hospital provides). No ORM here; the
job is ``teaching.services.caption_draft_run``.

The transcriber in force is ``CAPTIONS_TRANSCRIBER`` ("module.path:function") when set, else
faster-whisper on ``CAPTIONS_STT_MODEL_DIR`` when that is set, else none (speech-to-text off).
Either way it is called as ``transcriber(wav_path, language)`` and returns
``[(start_seconds, end_seconds, text)]``.

Nothing is ever downloaded: the model folder must exist and hold a CTranslate2 model, and
faster-whisper loads it with ``local_files_only=True``. faster-whisper itself is not a
dependency of this project; a hospital that wants speech-to-text installs it.
"""

import functools
import importlib
import logging
import math
from collections.abc import Callable, Iterable
from pathlib import Path

from django.conf import settings

from videos import transcoding

from . import captions

logger = logging.getLogger(__name__)

Segment = tuple[float, float, str]
Transcriber = Callable[[Path, str], list[Segment]]

SAMPLE_RATE = 16000  # what Whisper models are trained on


class SpeechError(RuntimeError):
    """Speech-to-text cannot run here; the message is shown to editors (no server paths in it)."""


def configured() -> bool:
    """Whether speech-to-text is on: a transcriber of the hospital's own, or a model folder."""
    return bool(settings.CAPTIONS_TRANSCRIBER or settings.CAPTIONS_STT_MODEL_DIR)


def audio_command(*, source: Path, target: Path) -> list[str]:
    """
    The first audio track of ``source`` as 16 kHz mono 16-bit PCM WAV at ``target``, from the
    start of the file (the player's timeline), with none of the recorder's metadata.
    """
    return [
        settings.FFMPEG_BIN,
        *transcoding.INPUT_OPTIONS,
        "-y",
        "-i",
        str(source),
        "-map",
        "0:a:0",
        "-vn",
        "-ac",
        "1",
        "-ar",
        str(SAMPLE_RATE),
        "-c:a",
        "pcm_s16le",
        "-map_metadata",
        "-1",
        "-f",
        "wav",
        "-nostats",
        "-loglevel",
        "error",
        str(target),
    ]


def cues_from(segments: Iterable[Segment], *, duration: float) -> list[captions.Cue]:
    """
    What a transcriber said as caption cues: text on one line, empty segments dropped, times
    within ``[0, duration]`` (a model may run a little past the end; a cue with no length gets
    a second), in timeline order; at most ``captions.MAX_CUES``. A malformed segment is a
    ``SpeechError``.
    """
    cues = []
    for segment in segments:
        try:
            start, end, text = segment
            start, end = float(start), float(end)
        except (TypeError, ValueError):
            raise SpeechError("The transcriber returned something other than (start, end, text) segments.") from None
        if not isinstance(text, str) or not math.isfinite(start) or not math.isfinite(end):
            raise SpeechError("The transcriber returned something other than (start, end, text) segments.")
        text = _cue_text(" ".join(text.split()))
        if not text:
            continue
        limit = duration if duration > 0 else max(end, start + 1.0)
        start = min(max(start, 0.0), limit)
        end = min(end if end > start else start + 1.0, limit)  # a cue needs some length to show
        if end <= start:
            continue  # past the end of the recording
        cues.append(captions.Cue(start=round(start, 3), end=round(end, 3), text=text))
    cues.sort(key=lambda cue: (cue.start, cue.end))
    return cues[: captions.MAX_CUES]


def _escape(words: str) -> str:
    return words.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cue_text(words: str) -> str:
    """Plain words as WebVTT cue text (which is markup: "<", "&" and "-->" escaped), cut to fit a cue."""
    text = _escape(words)
    while len(text) > captions.MAX_CUE_CHARS:
        words = words[: len(words) - (len(text) - captions.MAX_CUE_CHARS)]
        text = _escape(words)
    return text


def whisper_transcriber(model_dir: str) -> Transcriber:
    """faster-whisper on the CTranslate2 model in ``model_dir``, on the CPU in int8, never downloading."""
    path = Path(model_dir)
    if not path.is_absolute() or not path.is_dir():
        logger.warning("speech-to-text model folder missing", extra={"model_dir": model_dir})
        raise SpeechError(
            "CAPTIONS_STT_MODEL_DIR is not an existing folder on the transcode worker: set it to a "
            "faster-whisper (CTranslate2) model folder. Nothing is downloaded."
        )
    if not (path / "model.bin").is_file():
        logger.warning("speech-to-text model folder has no model.bin", extra={"model_dir": model_dir})
        raise SpeechError(
            "CAPTIONS_STT_MODEL_DIR holds no model.bin: it is not a faster-whisper (CTranslate2) model folder."
        )
    try:
        from faster_whisper import WhisperModel  # optional: a hospital that uses it installs it
    except ImportError:
        raise SpeechError(
            "CAPTIONS_STT_MODEL_DIR is set but faster-whisper is not installed on the transcode worker "
            "(pip install faster-whisper)."
        ) from None
    try:
        model = WhisperModel(str(path), device="cpu", compute_type="int8", local_files_only=True)
    except Exception as error:
        logger.warning("speech-to-text model not loaded", extra={"model_dir": model_dir, "error": str(error)[:300]})
        raise SpeechError(
            f"The model in CAPTIONS_STT_MODEL_DIR could not be loaded ({type(error).__name__})."
        ) from None

    def transcribe(audio: Path, language: str) -> list[Segment]:
        # Whisper takes the primary subtag ("pt" of "pt-BR"). The voice-activity filter (its
        # Silero model ships inside the faster-whisper wheel) skips the long silences of an
        # operation, where Whisper otherwise invents words.
        segments, _info = model.transcribe(str(audio), language=language.split("-")[0].lower(), vad_filter=True)
        return [(segment.start, segment.end, segment.text) for segment in segments]

    return transcribe


@functools.cache
def _load(dotted: str, model_dir: str) -> Transcriber:
    if dotted:
        module, _, attribute = dotted.replace(":", ".").rpartition(".")
        try:
            return getattr(importlib.import_module(module), attribute)
        except (ImportError, AttributeError, ValueError):
            logger.warning("speech-to-text transcriber not found", extra={"transcriber": dotted})
            raise SpeechError("CAPTIONS_TRANSCRIBER names no function that can be imported.") from None
    if model_dir:
        return whisper_transcriber(model_dir)  # loaded once per worker process (a failure is not kept)
    raise SpeechError("Speech-to-text is off: set CAPTIONS_STT_MODEL_DIR or CAPTIONS_TRANSCRIBER.")


def transcriber() -> Transcriber:
    """The transcriber in force (see the module's docstring); ``SpeechError`` when it cannot run."""
    return _load(settings.CAPTIONS_TRANSCRIBER, settings.CAPTIONS_STT_MODEL_DIR)
