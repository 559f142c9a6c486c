"""The rule of what a site's stream URL may be: one rule in the store, for the importer and the
workers alike (the importer words a broken one as a cell error)."""

from __future__ import annotations

import pytest

from attendance.importing import fields
from attendance.importing.fields import FieldError
from attendance.store.sites import StreamUrlError, stream_url


def test_a_good_stream_url_is_kept_and_none_is_none():
    assert stream_url("rtsp://10.0.0.5/live") == "rtsp://10.0.0.5/live"
    assert stream_url("") is None


def test_a_bad_stream_url_is_a_value_error_that_the_importer_reports_as_a_field_error():
    with pytest.raises(StreamUrlError, match="needs a host") as raised:
        stream_url("rtsp:///live")
    assert isinstance(raised.value, ValueError)
    with pytest.raises(FieldError, match="needs a host"):
        fields.stream_url("rtsp:///live")
