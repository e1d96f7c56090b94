"""
Transcribers for the speech-to-text tests, plugged in with ``CAPTIONS_TRANSCRIBER``. ``transcribe``
reads the WAV FFmpeg made (its format, length and loudness), so a draft's cues prove the audio was
really extracted; what it read is kept in ``HEARD``.
"""

import math
import wave
from array import array
from pathlib import Path

HEARD: list[dict] = []


def transcribe(audio: Path, language: str) -> list[tuple[float, float, str]]:
    with wave.open(str(audio), "rb") as wav:
        rate, channels, width, frames = wav.getframerate(), wav.getnchannels(), wav.getsampwidth(), wav.getnframes()
        samples = array("h", wav.readframes(frames))
    seconds = frames / rate
    rms = math.sqrt(sum(sample * sample for sample in samples) / len(samples)) if samples else 0.0
    HEARD.append({"language": language, "rate": rate, "channels": channels, "width": width, "seconds": seconds})
    HEARD[-1]["rms"] = rms
    half = round(seconds / 2, 3)
    return [
        (0.0, half, "  The cystic   artery is clipped. "),
        (half, seconds + 0.75, f"Heard {seconds:.2f} s at {rate} Hz <mono> & loud {rms > 1000}"),  # runs past the end
        (0.5, 0.9, "   "),  # nothing said: dropped
    ]


def silent(audio: Path, language: str) -> list[tuple[float, float, str]]:
    return []


def broken(audio: Path, language: str) -> list[tuple[float, float, str]]:
    raise RuntimeError("the model crashed")
