"""Face detectors behind one interface, so the counter's bands, ROI and perspective work with any.

A detector finds faces in an image at that image's own scale; `detect` searches one region of a
frame enlarged or shrunk by a factor and returns the faces in frame pixels. Which detector a
site uses is a setting (`sampling.model`): CenterFace (the default, see README's real-photo
table) or face_recognition's dlib models, HOG and the CNN (mmod).
"""

from __future__ import annotations

from functools import cache
from typing import Protocol

import cv2
import numpy as np

from attendance.vision.boxes import Box, Face

MODELS = ("centerface", "hog", "cnn")
DEFAULT_MODEL = "centerface"


class Detector(Protocol):
    colour: bool  # wants RGB; False: luminance (HOG does as well on it, with 40% less work)

    def find(self, image: np.ndarray, threshold: float) -> list[Face]:
        """Faces in `image` (RGB or gray, as `colour` says) at its own scale."""


@cache
def detector(model: str) -> Detector:
    """The process's one instance of a model: its weights are loaded once."""
    if model == "centerface":
        from attendance.vision.centerface import CenterFace

        return CenterFace()
    if model in ("hog", "cnn"):
        from attendance.vision.dlib_faces import DlibDetector

        return DlibDetector(model)
    raise ValueError(f"model must be one of {', '.join(MODELS)}, not {model!r}")


def load_models(model: str = DEFAULT_MODEL) -> None:
    """Load a detector's weights (and face_recognition, which encodings need): before timing."""
    from attendance.vision.dlib_faces import load_dlib

    load_dlib()
    detector(model)


def prepare(model: str, frame: np.ndarray) -> np.ndarray:
    """The frame as `model` wants it: RGB for the CNNs, luminance for HOG."""
    if detector(model).colour:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB) if frame.ndim == 2 else frame
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) if frame.ndim == 3 else frame


def detect(
    model: str, frame: np.ndarray, region: Box, scale: float, threshold: float
) -> list[Face]:
    """Faces in `region` of `frame` searched at `scale` (2: enlarged twice), in frame pixels."""
    top, right, bottom, left = region
    crop = frame[top:bottom, left:right]
    if crop.size == 0:
        return []
    interpolation = cv2.INTER_LINEAR if scale >= 1 else cv2.INTER_AREA
    scaled = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=interpolation)
    height, width = frame.shape[:2]
    faces = []
    for face in detector(model).find(scaled, threshold):
        y0, x1, y1, x0 = (round(v / scale) for v in face.box)
        box = (max(0, y0 + top), min(width, x1 + left), min(height, y1 + top), max(0, x0 + left))
        faces.append(Face(box, face.score))
    return faces
