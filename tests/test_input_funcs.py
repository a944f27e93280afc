"""httpjson template functions evaluated through `[[ ]]` templates, as value_tpl.go defines them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

import pytest

from intpkg.golang.gotime import GoTime
from intpkg.golang.httpvalues import Header, URLValues
from intpkg.golang.template import Template, TemplateExecError
from intpkg.input.funcs import template_funcs

FROZEN = GoTime(1700000000, 123456789)  # 2023-11-14T22:13:20.123456789Z


def render(source: str, data: dict | None = None) -> str:
    template = Template(source, delims=("[[", "]]"), funcs=template_funcs(lambda: FROZEN))
    return template.execute(data if data is not None else {})


@pytest.mark.parametrize(("source", "expected"), [
    ("[[now]]", "2023-11-14 22:13:20.123456789 +0000 UTC"),
    ('[[formatDate (now (parseDuration "-1h"))]]', "2023-11-14T21:13:20Z"),
    ('[[now (parseDuration "-24h") | formatDate]]', "2023-11-13T22:13:20Z"),
    ("[[(now).Unix]] [[now.UnixMilli]]", "1700000000 1700000000123"),
    ('[[(now).Format "2006-01-02T15:04:05.000Z07:00"]]', "2023-11-14T22:13:20.123Z"),
    ('[[parseDuration "1h30m"]] [[parseDuration "garbage"]]', "1h30m0s 0s"),
    ('[[formatDate (parseDate "2024-01-02T03:04:05+01:00")]]', "2024-01-02T02:04:05Z"),
    ('[[formatDate (parseDate "Tue, 02 Jan 2024 03:04:05 GMT" "RFC1123") "RFC3339Nano"]]', "2024-01-02T03:04:05Z"),
    ('[[formatDate (parseDate "02/01/2024" "02/01/2006") "2006-01-02"]]', "2024-01-02"),
    ('[[(parseDate "not a date").IsZero]]', "true"),
    ('[[formatDate (parseDateInTZ "2024-01-02 03:04:05" "America/New_York" "2006-01-02 15:04:05")]]',
     "2024-01-02T08:04:05Z"),
    ('[[formatDate (parseDateInTZ "2024-01-02 03:04:05" "+02:00" "2006-01-02 15:04:05")]]', "2024-01-02T01:04:05Z"),
    ('[[formatDate (parseDateInTZ "2024-01-02 03:04:05" "Not/AZone" "2006-01-02 15:04:05")]]', "2024-01-02T03:04:05Z"),
    ('[[formatDate (parseTimestamp 1700000000) "RFC3339" "Asia/Tokyo"]]', "2023-11-15T07:13:20+09:00"),
    ('[[formatDate (parseTimestamp 1700000000) "RFC3339" "Bad/Zone"]]', "2023-11-14T22:13:20Z"),
    ('[[formatDate (parseTimestampMilli 1700000000123) "RFC3339Nano"]]', "2023-11-14T22:13:20.123Z"),
    ('[[formatDate (parseTimestampNano 1700000000000000001) "RFC3339Nano"]]', "2023-11-14T22:13:20.000000001Z"),
    ('[[toInt "12.9"]] [[toInt 3.7]] [[toInt "x"]] [[toInt true]] [[toInt 7]]', "12 3 0 0 7"),
    ("[[add 1 2 3]] [[mul 3 4]] [[div 7 2]] [[div -7 2]]", "6 12 3 -3"),
    ('[[min 3 2]] [[max 3 2]] [[min "b" "a"]] [[max 1.5 2.5]]', "2 3 a 2.5"),
    ('[[sprintf "%s-%03d-%.2f" "a" 7 1.234]]', "a-007-1.23"),
    ('[["some value" | replaceAll "some" "my"]]', "my value"),
    ('[[urlEncode "a b&c/d"]]', "a+b%26c%2Fd"),
    ('[[base64Encode "user:" "pass"]] [[base64EncodeNoPad "ab"]]', "dXNlcjpwYXNz YWI"),
    ('[[base64Decode "aGk="]] [[base64DecodeNoPad "aGk"]] [[base64Decode "%%%"]]|', "hi hi |"),
    ('[[hexDecode "6869"]] [[hexDecode "zz"]]|', "hi |"),
    ('[[hmac "sha256" "key" ""]]|', "|"),
    ('[[userAgent "extra"]]', None),
])
def test_functions(source, expected):
    output = render(source)
    if expected is None:
        assert output.startswith("Elastic-Filebeat/") and output.endswith("; extra)")
    else:
        assert output == expected


def test_hash_and_hmac_match_the_standard_algorithms():
    assert render('[[hash "sha256" "a" "b"]]') == hashlib.sha256(b"ab").hexdigest()
    assert render('[[hash "sha1" "a"]]') == hashlib.sha1(b"a").hexdigest()
    assert render('[[hashBase64 "sha256" "ab"]]') == base64.b64encode(hashlib.sha256(b"ab").digest()).decode()
    expected = hmac.new(b"key", b"ab", "sha256")
    assert render('[[hmac "sha256" "key" "a" "b"]]') == expected.hexdigest()
    assert render('[[hmacBase64 "sha256" "key" "ab"]]') == base64.b64encode(expected.digest()).decode()


def test_rfc5988_links_from_separate_and_joined_header_values():
    joined = Header([("Link", '<https://x/?page=2>; rel="next", <https://x/?page=9>; rel="last"')])
    separate = Header([("Link", '<https://y/?p=1>; rel="prev"'), ("Link", "<https://y/?p=3>; rel=next")])
    data = {"j": joined, "s": separate}
    assert render('[[getRFC5988Link "next" .j.Link]]', data) == "https://x/?page=2"
    assert render('[[getRFC5988Link "last" .j.Link]]', data) == "https://x/?page=9"
    assert render('[[getRFC5988Link "next" .s.Link]]', data) == "https://y/?p=3"
    assert render('[[getRFC5988Link "first" .s.Link]]|', data) == "|"


def test_join_and_tojson():
    data = {"l": ["a", 1, True], "s": "x", "m": {"b": [1, 2], "a": None}, "n": 5}
    assert render('[[join .l ","]]', data) == "a,1,true"
    assert render('[[join .s ","]]', data) == "x"
    assert render('[[join .n ","]]', data) == "5"
    assert render("[[toJSON .m]]", data) == '{"a":null,"b":[1,2]}'
    assert render("[[toJSON .l]]", data) == '["a",1,true]'


def test_url_values_and_page_arithmetic():
    data = {"last_response": {"url": {"params": URLValues.parse("page=3")}, "page": 0}}
    assert render('[[add (toInt (.last_response.url.params.Get "page")) 1]]', data) == "4"
    assert render("[[add .last_response.page 1]]", data) == "1"


def test_uuid_is_random_v4():
    first, second = render("[[uuid]]"), render("[[uuid]]")
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", first)
    assert first != second


@pytest.mark.parametrize("source", ['[[add 1 "2"]]', "[[div 1 0]]", '[[formatDate "2024"]]', '[[now "1h"]]'])
def test_type_errors_are_execution_errors(source):
    with pytest.raises(TemplateExecError):
        render(source)
