"""jsoncodec: orjson's speed with the standard library's results and errors where orjson refuses the input."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from intpkg import jsoncodec

SAMPLES = [
    {"a": 1, "b": [True, False, None], "c": {"d": "é ü 中 \U0001f600", "e": -12345678901234}},
    {"quote": 'say "hi"\n\ttab \\ back', "ctl": "\x00\x1f\x7f", "html": "<a href='x'>&</a>", "sep": "\u2028"},
    [1, 2.5, -0.125, 1.0, 0, "x"],
    "plain",
    {"order": {"z": 1, "a": 2, "m": 3}},
]


@pytest.mark.parametrize("value", SAMPLES)
def test_dumps_writes_what_the_standard_library_writes(value):
    assert jsoncodec.dumps(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    assert jsoncodec.loads(jsoncodec.dumps(value).encode()) == value


def test_what_orjson_refuses_to_encode_falls_back_to_the_standard_library():
    assert jsoncodec.dumps({"big": 2**70}) == '{"big":1180591620717411303424}'
    assert jsoncodec.dumps({1: "int key"}) == '{"1":"int key"}'


def test_small_exponents_lose_their_leading_zero_and_nan_is_written_as_null():
    assert jsoncodec.dumps([1e16, 1.5e-7, 0.1]) == "[1e+16,1.5e-7,0.1]"
    assert jsoncodec.dumps([float("nan"), float("inf")]) == "[null,null]"


def test_loads_takes_bytes_or_text_and_keeps_invalid_utf8_as_replacement_characters():
    assert jsoncodec.loads(b'{"a":"\xc3\xa9"}') == {"a": "é"}
    assert jsoncodec.loads('{"a":"é"}') == {"a": "é"}
    assert jsoncodec.loads(b'{"a":"\xff"}') == {"a": "\ufffd"}


def test_loads_raises_the_standard_librarys_error_with_its_position():
    with pytest.raises(json.JSONDecodeError) as err:
        jsoncodec.loads(b'{"a": 1,\n "b": }')
    assert (err.value.lineno, err.value.colno) == (2, 7)
    assert err.value.msg == "Expecting value"


def test_loads_decodes_integers_beyond_64_bits_as_floats_like_go():
    assert jsoncodec.loads(b"123456789012345678901234567890") == 1.2345678901234568e29
    assert jsoncodec.loads(b"18446744073709551615") == 18446744073709551615


@pytest.mark.parametrize("make", [jsoncodec.opensearch_serializer, jsoncodec.elasticsearch_serializer])
def test_client_serializers_encode_dates_and_big_integers_and_decode_responses(make):
    serializer = make()
    body = {"@timestamp": dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC), "n": 2**70, "s": "é"}
    encoded = serializer.dumps(body)
    text = encoded.decode() if isinstance(encoded, bytes) else encoded
    assert json.loads(text) == {"@timestamp": "2026-11-26T12:00:00+00:00", "n": 2**70, "s": "é"}
    assert serializer.dumps('{"already":"text"}') in ('{"already":"text"}', b'{"already":"text"}')
    raw = '{"took":3,"errors":false,"items":[{"create":{"status":201}}]}'
    decoded = serializer.loads(raw.encode() if make is jsoncodec.elasticsearch_serializer else raw)
    assert decoded["items"][0]["create"]["status"] == 201
