"""Reading image files for the CLI, with errors that say what is wrong with which file."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from attendance.errors import BadInput

JPEG_END = b"\xff\xd9"


def read_image(path: Path) -> np.ndarray:
    """The image as an RGB array; BadInput if it is missing, empty, truncated or not an image."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"{path}: file not found") from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot read: {exc.strerror}") from None
    if not data:
        raise BadInput(f"{path}: empty file")
    if data.startswith(b"\xff\xd8") and not data.rstrip(b"\0").endswith(JPEG_END):
        raise BadInput(f"{path}: truncated JPEG (the end of the image is missing)")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise BadInput(f"{path}: not an image OpenCV can decode (JPEG, PNG, BMP, TIFF, WebP…)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
