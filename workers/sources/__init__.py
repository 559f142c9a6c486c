"""Frame sources: one small async interface over every kind of site stream.

`open_source(url, options, http)` picks the source for a URL; `check_stream_url(url, options)`
says in words what is wrong with a URL before sampling starts. See factory.py for the table of
URL → source, and each module for its newest-frame and reconnect policy.
"""

from workers.sources.base import Frame, FrameSource, GrabFailure, SourceError
from workers.sources.factory import SourceFactory, check_stream_url, open_source

__all__ = [
    "Frame",
    "FrameSource",
    "GrabFailure",
    "SourceError",
    "SourceFactory",
    "check_stream_url",
    "open_source",
]
