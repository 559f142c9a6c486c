"""One site's camera over a session as a video file, with the truth of every state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2

from attendance.simulate.cameras import CameraSettings, facts, noisy, picture
from attendance.simulate.occupancy import SiteProfile, occupancy_at


def write_clip(
    out: Path, camera: CameraSettings, site: SiteProfile, seconds: float, fps: float, speed: float
) -> dict[str, Any]:
    """Write `seconds` of video at `fps` ('mp4v'), session time running `speed` × faster.

    Each state is drawn once; every frame gets its own noise pattern, as from a live sensor.
    Returns the truth: which frames show which state, and what each state shows.
    Raises OSError when OpenCV cannot write `out`.
    """
    count = max(1, round(seconds * fps))
    size = (camera.width, camera.height)
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    if not writer.isOpened():
        raise OSError(f"{out}: OpenCV cannot write an 'mp4v' video there")
    hall = facts(camera, site)
    states: list[dict[str, Any]] = []
    frame = None
    try:
        for index in range(count):
            state = occupancy_at(site, index / fps * speed)
            if not states or states[-1]["state"] != state.state:
                if frame is None or states[-1]["key"] != state.key:
                    frame = picture(camera, site, state)
                states.append(
                    {
                        "state": state.state,
                        "first_frame": index,
                        "key": state.key,
                        "session_seconds": round(index / fps * speed, 3),
                        **hall.counts(state),
                        "faces": hall.faces(state),
                    }
                )
            states[-1]["last_frame"] = index
            writer.write(noisy(frame, camera.noise, index))
    finally:
        writer.release()
    for record in states:
        del record["key"]
    return {
        "site": site.code,
        "fps": fps,
        "frames": count,
        "speed": speed,
        "size": list(size),
        "screen": hall.screen,
        "screen_faces": hall.screen_faces,
        "states": states,
    }
