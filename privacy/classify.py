"""
What the privacy scan asks of each sampled frame (an RGB ``numpy`` array, H×W×3, uint8):

- ``out_of_body(frame)``: the probability that the camera is outside the patient. The built-in
  classifier is cheap colour and vignette statistics: endoscopic views are dominated by red and
  pink tissue, with the scope's dark vignette in the corners; the theatre (walls, gowns, faces,
  screens) is not. A hospital plugs in its own classifier with ``PRIVACY_CLASSIFIER``
  ("module.path:function", same contract) or an ONNX model with ``PRIVACY_ONNX_MODEL`` (needs
  onnxruntime, which is not a dependency of this project; the model is a file the hospital
  provides, never downloaded).
- ``faces(frame)``: face rectangles, from OpenCV's frontal-face Haar cascade, which ships inside
  the ``opencv-python-headless`` wheel (``cv2.data.haarcascades``).

No ORM here, and nothing about a frame is kept: the scan stores time ranges only.
"""

import functools
import importlib
from collections.abc import Callable

import numpy as np
from django.conf import settings

Classifier = Callable[[np.ndarray], float]

# Frames at or above this out-of-body probability are flagged.
OUT_OF_BODY_THRESHOLD = 0.5
FACE_CASCADE = "haarcascade_frontalface_default.xml"


def colour_statistics(frame: np.ndarray) -> float:
    """
    The built-in out-of-body probability: how far the frame is from "red-dominated with dark
    corners". Tissue under a scope's light has red well above green and blue (a red share of
    the light above ~0.45); a vignette makes the corners much darker than the centre. Either
    signal alone is weak (a red gown, a dark theatre), so the probability is high only when
    the red share is low, and lowered when the picture has the scope's vignette.
    """
    rgb = frame.astype(np.float32)
    total = rgb.sum(axis=2) + 1.0
    luma = rgb.mean(axis=2)
    lit = luma > 24  # the vignette and black borders say nothing about colour
    if lit.sum() < 0.05 * lit.size:
        return 0.0  # an all-dark frame (lens cap, a cut): nothing to identify
    red_share = float((rgb[..., 0] / total)[lit].mean())
    green_share = float((rgb[..., 1] / total)[lit].mean())
    h, w = luma.shape
    ch, cw = max(1, h // 8), max(1, w // 8)
    corners = np.concatenate(
        [luma[:ch, :cw].ravel(), luma[:ch, -cw:].ravel(), luma[-ch:, :cw].ravel(), luma[-ch:, -cw:].ravel()]
    ).mean()
    centre = luma[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4].mean() + 1.0
    vignette = 1.0 - min(1.0, float(corners / centre))  # 0: flat, 1: black corners
    # In-body: red share ≳ 0.5 and green well below it. 0.40 → 1.0 (out), 0.55 → 0.0 (in).
    redness = (red_share - max(green_share, 0.0) * 0.5 - 0.22) / 0.18
    probability = 1.0 - min(1.0, max(0.0, redness))
    return float(max(0.0, min(1.0, probability - 0.3 * vignette)))


def onnx_classifier(path: str) -> Classifier:
    """An ONNX model's out-of-body probability (input 1×3×224×224 RGB in 0–1, first output's last value)."""
    try:
        import onnxruntime  # optional: a hospital that uses a model installs it
    except ImportError as error:  # pragma: no cover (depends on the site)
        raise RuntimeError("PRIVACY_ONNX_MODEL is set but onnxruntime is not installed") from error
    import cv2

    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name

    def classify(frame: np.ndarray) -> float:
        small = cv2.resize(frame, (224, 224), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
        output = session.run(None, {name: small.transpose(2, 0, 1)[None]})[0]
        return float(np.asarray(output).ravel()[-1])

    return classify


@functools.cache
def _load(dotted: str, onnx: str) -> Classifier:
    if dotted:
        module, _, attribute = dotted.replace(":", ".").rpartition(".")
        return getattr(importlib.import_module(module), attribute)
    if onnx:
        return onnx_classifier(onnx)
    return colour_statistics


def out_of_body_classifier() -> Classifier:
    """The classifier in force: ``PRIVACY_CLASSIFIER``, else ``PRIVACY_ONNX_MODEL``, else the statistics."""
    return _load(settings.PRIVACY_CLASSIFIER, settings.PRIVACY_ONNX_MODEL)


@functools.cache
def _cascade():
    import cv2

    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + FACE_CASCADE)
    if cascade.empty():  # pragma: no cover (a broken install)
        raise RuntimeError(f"OpenCV's {FACE_CASCADE} could not be loaded")
    return cascade


def faces(frame: np.ndarray, *, min_size: int = 20) -> list[tuple[int, int, int, int]]:
    """Face rectangles (x, y, w, h) in ``frame``: OpenCV's frontal-face Haar cascade."""
    import cv2

    grey = cv2.equalizeHist(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY))
    found = _cascade().detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5, minSize=(min_size, min_size))
    return [tuple(int(v) for v in box) for box in found]
