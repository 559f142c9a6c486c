import pytest

from attendance.importing import fields
from attendance.importing.columns import ROSTER, SITES
from attendance.importing.fields import FieldError


@pytest.mark.parametrize("word", ["yes", "Y", "true", "1", "có", "CÓ", "co", "x", "X"])
def test_true_words(word: str):
    assert fields.boolean(word) is True


@pytest.mark.parametrize("word", ["no", "false", "0", "không", "KHÔNG", ""])
def test_false_words(word: str):
    assert fields.boolean(word) is False


@pytest.mark.parametrize("word", ["maybe", "2", "ok"])
def test_bad_boolean(word: str):
    with pytest.raises(FieldError, match="expected yes/no"):
        fields.boolean(word)


@pytest.mark.parametrize(
    "url",
    [
        "rtsp://admin:pw@10.1.2.3:554/Streaming/Channels/101",
        "http://cam.local/snapshot.jpg",
        "https://mcu.example.vn/live/index.m3u8",
        "file:///videos/site.mp4",
        "",
    ],
)
def test_good_stream_urls(url: str):
    assert fields.stream_url(url) == (url or None)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("10.1.2.3/live", "expected a stream URL starting with"),
        ("ftp://host/x", "expected a stream URL starting with"),
        ("rtsp:///live", "needs a host"),
        ("http://host/a b", "expected a stream URL"),
        ("file://", "needs a path"),
    ],
)
def test_bad_stream_urls(url: str, reason: str):
    with pytest.raises(FieldError, match=reason):
        fields.stream_url(url)


def test_counts_codes_and_zones():
    assert fields.count("120") == 120
    assert fields.count("") is None
    for bad in ("-1", "12.5", "abc"):
        with pytest.raises(FieldError, match="whole number"):
            fields.count(bad)
    with pytest.raises(FieldError, match="without spaces"):
        fields.code("DC 01")
    assert fields.timezone("", "Asia/Ho_Chi_Minh") == "Asia/Ho_Chi_Minh"
    with pytest.raises(FieldError, match="unknown time zone"):
        fields.timezone("GMT+7", "Asia/Ho_Chi_Minh")


def test_no_header_alias_is_shared_between_columns():
    for columns in (SITES, ROSTER):
        seen = {}
        for name, aliases in columns.aliases.items():
            for alias in (name, *aliases):
                assert columns.canonical(alias) == name, (columns.kind, alias, seen.get(alias))
                seen[alias] = name
