"""The stream-format rule engine of the mock: matching, rotation, templates, as_sequence, config errors."""

from __future__ import annotations

import json

import pytest
import requests

from fixtures.clocks import ManualClock
from fixtures.mock.mockhelp import serve
from intpkg.mock import ConfigError

MATCHING = """
rules:
  - path: /api/{id:[0-9]+}/items
    methods: [GET]
    query_params:
      page: ["2"]
    responses:
      - status_code: 200
        body: 'page two of {{ .request.vars.id }}'
  - path: /api/{id:[0-9]+}/items
    methods: [GET]
    query_params:
      page: ["{page:[0-9]+}"]
      debug: []
    responses:
      - status_code: 200
        body: 'page {{ .request.vars.page }} of {{ .request.vars.id }}'
  - path: /api/{id:[0-9]+}/items
    methods: [GET]
    query_params:
      flag: [""]
    responses:
      - {status_code: 200, body: "flag present"}
  - path: /api/{name}/items
    methods: [get, post]
    request_headers:
      X-Tenant: ["^acme-[a-z]+$"]
    responses:
      - {status_code: 201, body: "tenant {{ .request.headers.Get \\"X-Tenant\\" }} {{ .request.vars.name }}"}
  - path: /secure
    user: admin
    password: s3cret
    responses:
      - {status_code: 200, body: "basic ok"}
  - path: /body
    methods: [POST]
    request_body: '/"kind":\\s*"audit"/'
    responses:
      - {status_code: 200, body: "regex body"}
  - path: /body
    methods: [POST]
    request_body: 'exact'
    responses:
      - {status_code: 200, body: "exact body"}
  - path: /form
    methods: [POST]
    query_params:
      token: ["{token:abc.*}"]
    responses:
      - {status_code: 200, body: "form {{ .request.vars.token }}"}
"""


def test_rule_matching(tmp_path):
    with serve(tmp_path, MATCHING) as mock:
        url = mock.base_url
        assert requests.get(f"{url}/api/42/items", params={"page": "2"}).text == "page two of 42"
        assert requests.get(f"{url}/api/42/items", params={"page": "7"}).text == "page 7 of 42"
        # `debug: []` means the parameter must be absent: falls through to the next rules, none match
        assert requests.get(f"{url}/api/42/items", params={"page": "7", "debug": "1"}).status_code == 404
        # [""] means present with any value
        assert requests.get(f"{url}/api/42/items", params={"flag": ""}).text == "flag present"
        # path variable without regex is one segment; header regex must match; methods are case-insensitive
        r = requests.post(f"{url}/api/shop/items", headers={"X-Tenant": "acme-east"})
        assert (r.status_code, r.text) == (201, "tenant acme-east shop")
        assert requests.get(f"{url}/api/shop/items", headers={"X-Tenant": "other"}).status_code == 404
        assert requests.get(f"{url}/api/a/b/items", headers={"X-Tenant": "acme-x"}).status_code == 404
        assert requests.delete(f"{url}/api/shop/items", headers={"X-Tenant": "acme-x"}).status_code == 404
        # basic auth
        assert requests.get(f"{url}/secure", auth=("admin", "s3cret")).text == "basic ok"
        assert requests.get(f"{url}/secure", auth=("admin", "wrong")).status_code == 404
        # request body: /regex/ then exact string
        assert requests.post(f"{url}/body", data='{"kind": "audit"}').text == "regex body"
        assert requests.post(f"{url}/body", data="exact").text == "exact body"
        assert requests.post(f"{url}/body", data="exactly").status_code == 404
        # form parameters count as query parameters (stream merges them)
        assert requests.post(f"{url}/form", data={"token": "abc123"}).text == "form abc123"
        # nothing matched: 404
        missing = requests.get(f"{url}/nowhere")
        assert missing.status_code == 404
        assert mock.requests[-1].rule is None and mock.requests[-1].note == "no rule matched"


def test_first_full_match_wins_and_responses_rotate(tmp_path):
    config = """
    rules:
      - path: /r
        query_params: {mode: [special]}
        responses:
          - {status_code: 200, body: "special"}
      - path: /r
        responses:
          - {status_code: 503, body: "first {{ .req_num }}"}
          - {status_code: 200, body: "second {{ .req_num }}", headers: {X-Seq: ["{{ sum .req_num 100 }}"]}}
    """
    with serve(tmp_path, config) as mock:
        got = [requests.get(f"{mock.base_url}/r") for _ in range(4)]
        assert [(r.status_code, r.text) for r in got] == [
            (503, "first 1"), (200, "second 2"), (503, "first 3"), (200, "second 4")]
        assert got[1].headers["X-Seq"] == "102"
        # Go's default content type for a body without one
        assert got[0].headers["Content-Type"] == "text/plain; charset=utf-8"
        assert requests.get(f"{mock.base_url}/r", params={"mode": "special"}).text == "special"
        # the special rule's hit did not advance the other rule's counter
        assert requests.get(f"{mock.base_url}/r").text == "first 5"


def test_template_functions_and_request_data(tmp_path, monkeypatch):
    monkeypatch.setenv("INTPKG_MOCK_TEST_VALUE", "from-env")
    clock = ManualClock(1741944413)  # 2025-03-14T09:26:53Z
    config = """
    rules:
      - path: /t
        responses:
          - status_code: 200
            headers:
              Content-Type: [application/json]
            body: >-
              {"page": {{ minify_json (file "page.json") }},
               "env": "{{ env "INTPKG_MOCK_TEST_VALUE" }}",
               "files": "{{ range glob "page*.json" }}{{ . }};{{ end }}",
               "now": "{{ now.Format "2006-01-02T15:04:05Z07:00" }}",
               "ago": "{{ (now "-5m").Format "2006-01-02T15:04:05Z07:00" }}",
               "host": "{{ .request.host }}", "url": "{{ .request.url.String }}",
               "q": "{{ .request.vars.q }}", "hostname": "{{ if hostname }}yes{{ end }}"}
    """
    files = {"page.json": '{ "a" : [1, 2.50, "x y"] }', "page2.json": "{}"}
    with serve(tmp_path, config, files=files, clock=clock) as mock:
        data = requests.get(f"{mock.base_url}/t", params={"q": "v"}).json()
    assert data["page"] == {"a": [1, 2.5, "x y"]}
    assert data["env"] == "from-env"
    assert data["files"] == "page.json;page2.json;"
    assert data["now"] == "2025-03-14T09:26:53Z"
    assert data["ago"] == "2025-03-14T09:21:53Z"
    assert data["host"].startswith("127.0.0.1:")
    assert data["url"] == "/t?q=v"
    assert data["q"] == "v"
    assert data["hostname"] == "yes"


def test_minify_json_keeps_tokens(tmp_path):
    config = """
    rules:
      - path: /m
        responses:
          - {status_code: 200, body: '{{ minify_json (file "x.json") }}'}
    """
    with serve(tmp_path, config, files={"x.json": '{\n  "n": 1.50,\n  "s": "a  b"\n}\n'}) as mock:
        assert requests.get(f"{mock.base_url}/m").text == '{"n":1.50,"s":"a  b"}'


def test_template_error_is_a_500_with_the_rule_location(tmp_path):
    config = """
    rules:
      - path: /broken
        responses:
          - {status_code: 200, body: '{{ file "missing.json" }}'}
    """
    with serve(tmp_path, config) as mock:
        r = requests.get(f"{mock.base_url}/broken")
        assert r.status_code == 500
        assert "config.yml:" in mock.errors[0] and "missing.json" in mock.errors[0]


def test_as_sequence_serves_each_response_once_in_order(tmp_path):
    config = """
    as_sequence: true
    rules:
      - path: /login
        responses:
          - {status_code: 200, body: "token"}
      - path: /page
        responses:
          - {status_code: 200, body: "one"}
          - {status_code: 200, body: "two"}
    """
    with serve(tmp_path, config) as mock:
        assert [requests.get(f"{mock.base_url}{p}").text for p in ("/login", "/page", "/page")] == [
            "token", "one", "two"]
        # the sequence is exhausted: the server errors from now on
        r = requests.get(f"{mock.base_url}/page")
        assert r.status_code == 500 and "after the whole sequence" in r.text
        assert requests.get(f"{mock.base_url}/login").status_code == 500
        assert len(mock.errors) == 1


def test_as_sequence_out_of_order_is_an_error(tmp_path):
    config = """
    as_sequence: true
    rules:
      - path: /login
        responses: [{status_code: 200, body: "token"}]
      - path: /page
        responses: [{status_code: 200, body: "one"}]
    """
    with serve(tmp_path, config) as mock:
        r = requests.get(f"{mock.base_url}/page")
        assert r.status_code == 500
        assert "expected rule #0" in mock.errors[0]


@pytest.mark.parametrize(("config", "where", "message"), [
    ("rules:\n  - methods: [GET]\n", ":2:5:", "rules[0].path: a rule needs a `path`"),
    ("rules:\n  - path: /x\n    responses:\n      - body: hi\n", ":4:9:", "status_code"),
    ("rules:\n  - path: /x\n    responses:\n      - {status_code: 200, body: '{{ if }}'}\n", ":4:34:",
     "invalid template"),
    ("rules:\n  - path: /x/{id:[}\n", ":2:11:", "invalid regex"),
    ("rules:\n  - path: /x\n    quer_params: {a: [b]}\n", ":3:5:", "unknown rule key"),
    ("as_sequence: yes\nrules: []\n", ":1:14:", "as_sequence: expected true or false"),
    ("rules:\n  - path: /x\n    x-intpkg-handler: {kind: nope}\n", "", "expected kind"),
    ("rules:\n  - path: /x\n    x-intpkg-faults: [{kind: status}]\n", "", "status_code"),
    ("rules: [\n", ":", "invalid YAML"),
])
def test_config_errors_name_file_line_and_field(tmp_path, config, where, message):
    with pytest.raises(ConfigError) as info:
        serve(tmp_path, config)
    text = str(info.value)
    assert text.startswith(str(tmp_path / "config.yml"))
    assert where in text and message in text


def test_every_shape_problem_of_a_config_is_listed_at_once(tmp_path):
    config = ("as_sequence: maybe\n"
              "rules:\n"
              "  - path: /x\n"
              "    responses: [{status_code: 42, body: [not, text]}]\n"
              "  - methods: [GET]\n")
    with pytest.raises(ConfigError) as info:
        serve(tmp_path, config)
    path = tmp_path / "config.yml"
    assert str(info.value).splitlines() == [
        f"{path}:1:14: as_sequence: expected true or false",
        f"{path}:4:31: rules[0].responses[0].status_code: a response needs an integer status_code (100-999)",
        f"{path}:4:41: rules[0].responses[0].body: expected a string (Go template)",
        f"{path}:5:5: rules[1].path: a rule needs a `path` (gorilla/mux pattern)",
    ]


def test_the_config_schema_is_a_valid_draft_2020_12_schema():
    import jsonschema

    from intpkg.mock.config import SCHEMA
    from intpkg.yamlpos import read_yaml

    jsonschema.Draft202012Validator.check_schema(read_yaml(SCHEMA))


def test_request_log_redacts_secrets(tmp_path):
    config = """
    rules:
      - path: /x
        responses: [{status_code: 200, body: ok}]
    """
    with serve(tmp_path, config) as mock:
        requests.get(f"{mock.base_url}/x", headers={"Authorization": "Bearer test-token-0123456789",
                                                     "X-Auth-Key": "0123456789abcdef0123456789abcdef01234",
                                                     "X-Auth-Email": "ops@example.com"})
        logged = mock.requests[0]
    assert logged.headers["authorization"] == "Bearer [REDACTED]"
    assert logged.headers["x-auth-key"] == "[REDACTED]"
    assert logged.headers["x-auth-email"] == "[REDACTED]"  # half of the global-key credential
    assert "0123456789" not in json.dumps(logged.headers)


def test_chunked_request_body_and_encoded_path(tmp_path):
    config = """
    rules:
      - path: /body/{name}
        methods: [POST]
        request_body: 'hello world'
        responses: [{status_code: 200, body: "got {{ .request.vars.name }}"}]
    """
    with serve(tmp_path, config) as mock:
        session = requests.Session()
        chunks = iter([b"hello ", b"world"])
        r = session.post(f"{mock.base_url}/body/a%20b", data=chunks)
        assert r.text == "got a b"
        # the connection is still usable after a chunked upload
        assert session.post(f"{mock.base_url}/body/c", data="hello world").text == "got c"


def test_internal_errors_become_500_and_are_recorded(tmp_path):
    config = """
    rules:
      - path: /x
        responses: [{status_code: 200, body: ok}]
    """
    with serve(tmp_path, config) as mock:
        def boom(*args):
            raise AttributeError("simulated bug")
        mock.engine._match = boom
        assert requests.get(f"{mock.base_url}/x").status_code == 500
        assert "simulated bug" in mock.errors[0]
