"""Who a face is: encodings (dlib's ResNet via face_recognition), matching against a gallery of
enrolled people, and grouping the faces nobody matches into strangers.

Encoding costs ~80 ms per face, matching microseconds: callers encode only faces they have not
identified yet. Distances are Euclidean between 128-float encodings; face_recognition's authors
put the same person under 0.6.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

import cv2
import numpy as np

from attendance.vision.boxes import Box, match
from attendance.vision.dlib_faces import load_dlib

ENCODING_SIZE = 128
ENCODING_DTYPE = np.dtype("<f8")  # how FaceEncoding.encoding stores it
PHOTO_MAX_SIDE = 1280  # px: a portrait's face stays large; a 12 MP phone photo would take seconds
SAME_FACE_IOU = 0.5  # seated people do not move: two counts' boxes overlapping this much: one face


class Decision(StrEnum):
    MATCH = "match"
    AMBIGUOUS = "ambiguous"  # within tolerance, but another person is nearly as close
    UNKNOWN = "unknown"


class PhotoError(ValueError):
    """An enrollment photo that cannot identify its person: no face, or several."""


@dataclass(frozen=True)
class Identity:
    """The verdict on one face: the person matched, or for `ambiguous` the likeliest one, and
    the distance to the nearest person (None only when the gallery is empty)."""

    decision: Decision
    label: Hashable | None
    distance: float | None


@cache
def _api():
    load_dlib()  # the import, with its warnings silenced
    from face_recognition import api

    return api


def encode_faces(image: np.ndarray, boxes: Sequence[Box]) -> np.ndarray:
    """One encoding per box (top, right, bottom, left) of an RGB image: shape (len(boxes), 128)."""
    if not boxes:
        return np.empty((0, ENCODING_SIZE))
    return np.array(_api().face_encodings(image, known_face_locations=[tuple(b) for b in boxes]))


def same_faces(faces: Sequence[Box], last: Sequence[Box]) -> list[tuple[int, int]]:
    """(face index, last index) of the faces that are a face of the last count, one to one: they
    keep its verdict instead of being encoded again. The detection process and the sampler must
    pair alike, so both call this."""
    return match(faces, last, SAME_FACE_IOU)


def encode_photo(image: np.ndarray) -> np.ndarray:
    """The encoding of the one face of an enrollment photo (RGB); PhotoError for none or several,
    since a wrong face enrolled would be matched as that person."""
    scale = PHOTO_MAX_SIDE / max(image.shape[:2])
    if scale < 1:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    boxes = _api().face_locations(image, number_of_times_to_upsample=1, model="hog")
    if not boxes:
        raise PhotoError("no face found")
    if len(boxes) > 1:
        raise PhotoError(f"{len(boxes)} faces found; a roster photo must show one person")
    return encode_faces(image, boxes)[0]


def to_bytes(encoding: np.ndarray) -> bytes:
    return np.asarray(encoding, ENCODING_DTYPE).tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, ENCODING_DTYPE).astype(np.float64)


class Gallery:
    """Known encodings with their person's label; a person may have several photos."""

    def __init__(self, labels: Sequence[Hashable], encodings: Sequence[np.ndarray]):
        index = {label: i for i, label in enumerate(dict.fromkeys(labels))}
        owner = np.array([index[label] for label in labels], dtype=int)
        order = np.argsort(owner, kind="stable")
        self.people = list(index)
        self.encodings = np.asarray(encodings, dtype=np.float64).reshape(-1, ENCODING_SIZE)[order]
        # Column where each person's encodings start, for a per-person minimum in one call.
        self._starts = np.searchsorted(owner[order], np.arange(len(index)))
        self._squares = (self.encodings**2).sum(axis=1)

    def match(
        self, encodings: np.ndarray, tolerance: float = 0.6, margin: float = 0.05
    ) -> list[Identity]:
        """A verdict per encoding. `match` needs the nearest person within `tolerance` and
        nearer by `margin` than the nearest *other* person (their own photos do not compete)."""
        encodings = np.asarray(encodings, dtype=np.float64).reshape(-1, ENCODING_SIZE)
        if not self.people:
            return [Identity(Decision.UNKNOWN, None, None) for _ in encodings]
        # |a − b|² = |a|² + |b|² − 2a·b: (faces × known) memory, not (faces × known × 128).
        # einsum, not @: BLAS threads stall when detection processes keep every core busy
        # (60 faces × 400 known: 15 ms instead of 2 on the 2-core machine under load).
        products = np.einsum("ij,kj->ik", encodings, self.encodings)
        squares = (encodings**2).sum(axis=1)[:, None] + self._squares - 2 * products
        distances = np.sqrt(np.maximum(squares, 0))
        per_person = np.minimum.reduceat(distances, self._starts, axis=1)
        return [_verdict(self.people, row, tolerance, margin) for row in per_person]


def _verdict(
    people: list[Hashable], per_person: np.ndarray, tolerance: float, margin: float
) -> Identity:
    ranked = np.argsort(per_person)
    best, label = float(per_person[ranked[0]]), people[ranked[0]]
    if best > tolerance:
        return Identity(Decision.UNKNOWN, None, best)
    runner_up = float(per_person[ranked[1]]) if len(ranked) > 1 else np.inf
    decision = Decision.MATCH if runner_up - best >= margin else Decision.AMBIGUOUS
    return Identity(decision, label, best)


class Strangers:
    """Faces that matched nobody at one site, grouped online into people: a face joins the
    nearest stranger within `threshold`, else is a new one. Each stranger is represented by its
    first face, so the groups do not drift. Labels count up from `first_label`, so a restarted
    worker does not reuse the labels of the strangers it forgot."""

    def __init__(self, threshold: float = 0.6, first_label: int = 1):
        self.threshold = threshold
        self.first_label = first_label
        self._faces: list[np.ndarray] = []

    def assign(self, encodings: np.ndarray, taken: Collection[int | None] = ()) -> list[int]:
        """A label per encoding of one frame; two faces in one frame are never one stranger, nor
        one of the `taken` labels of the frame's other faces."""
        taken = set(taken)
        labels = []
        for encoding in np.asarray(encodings, dtype=np.float64).reshape(-1, ENCODING_SIZE):
            label = self._nearest(encoding, taken)
            if label is None:
                label = self.first_label + len(self._faces)
                self._faces.append(encoding)
            taken.add(label)
            labels.append(label)
        return labels

    def _nearest(self, encoding: np.ndarray, taken: set[int]) -> int | None:
        if not self._faces:
            return None
        distances = np.linalg.norm(np.asarray(self._faces) - encoding, axis=1)
        for index in np.argsort(distances):
            if distances[index] > self.threshold:
                return None
            if self.first_label + index not in taken:
                return self.first_label + int(index)
        return None
