"""Go text/template conformance: expected outputs follow Go's text/template and fmt semantics.

The template cases also run through the real `text/template` when `go` is on PATH (one `go run`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess

import pytest

from intpkg import settings
from intpkg.golang.gotime import (
    DAY,
    LAYOUTS,
    Duration,
    GoTime,
    GoTimeError,
    format_duration,
    parse_duration,
    parse_time,
)
from intpkg.golang.httpvalues import Header, URLValues
from intpkg.golang.template import Template, TemplateError, TemplateExecError, TemplateParseError

DATA = {
    "a": {"b": [1, 2, 3]},
    "m": {"z": 1, "a": 2},
    "s": "hi",
    "n": None,
    "t": True,
    "f": 1.5,
    "big": 1e6,
    "e": [],
    "em": {},
}

# (template, expected output) — what Go's text/template prints for DATA.
GO_CASES = [
    ("plain text", "plain text"),
    ("{{.s}}", "hi"),
    ("{{.a.b}}", "[1 2 3]"),
    ("{{.m}}", "map[a:2 z:1]"),
    ("{{.m.z}}", "1"),
    ("{{.n}}", "<no value>"),
    ("{{.f}} {{.big}} {{1.0}} {{0.00001}}", "1.5 1e+06 1 1e-05"),
    ("{{0x1F}} {{1_000}} {{'a'}} {{1e3}} {{-2}}", "31 1000 97 1000 -2"),
    ("{{range $i, $v := .a.b}}{{$i}}:{{$v}},{{end}}", "0:1,1:2,2:3,"),
    ("{{range .m}}{{.}}{{end}}", "21"),
    ("{{range $k, $v := .m}}{{$k}}={{$v}} {{end}}", "a=2 z=1 "),
    ("{{range .e}}x{{else}}empty{{end}}", "empty"),
    ("{{range .n}}x{{else}}nil{{end}}", "nil"),
    ("{{range 3}}{{.}}{{end}}", "012"),
    ("{{range $i, $e := .a.b}}{{if $i}}, {{end}}{{$e}}{{end}}", "1, 2, 3"),
    ("{{range $v := .a.b}}{{if eq $v 2}}{{continue}}{{end}}{{if eq $v 3}}{{break}}{{end}}{{$v}}{{end}}", "1"),
    ("{{if .t}}yes{{end}}", "yes"),
    ("{{if .e}}x{{else if .em}}y{{else}}z{{end}}", "z"),
    ("{{if not .n}}a{{else}}b{{end}}", "a"),
    ("{{with .s}}{{.}}!{{end}}", "hi!"),
    ("{{with .n}}x{{else}}none{{end}}", "none"),
    ("{{with $x := .s}}{{$x}}{{.}}{{end}}", "hihi"),
    ("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}", "2"),
    ("{{$x := 1}}{{if true}}{{$x := 2}}{{end}}{{$x}}", "1"),
    ("{{$x := .s}}", ""),
    ("{{$.s}}", "hi"),
    ("a  {{- .s -}}  b", "ahib"),
    ("{{/* comment */}}x", "x"),
    ("{{- /* c */ -}}  x", "x"),
    ("x {{- 3}}", "x3"),
    ('{{"a" | printf "%s-%s" "b"}}', "b-a"),
    ('{{printf "%05.1f|%x|%q|%v|%d|%s|%t" 3.14159 255 "q" .a.b 7 .s true}}', '003.1|ff|"q"|[1 2 3]|7|hi|true'),
    ('{{printf "%d %s"  1}}', "1 %!s(MISSING)"),
    ('{{printf "%d" "x"}}', "%!d(string=x)"),
    ("{{len .a.b}} {{len .s}} {{len .m}}", "3 2 2"),
    ('{{index .a.b 1}} {{index .m "z"}} {{index .m "nope"}}', "2 1 <no value>"),
    ("{{slice .s 1}} {{slice .a.b 1 2}}", "i [2]"),
    ('{{and 1 0}} {{and 1 2}} {{or 0 ""}} {{or 0 3}} {{not .e}}', "0 2  3 true"),
    ('{{eq .s "hi"}} {{eq 1 2 3 1}} {{ne 1 2}} {{lt 1.5 2.5}} {{le "a" "a"}} {{gt 3 2}} {{ge 2 3}}',
     "true true true true true true false"),
    ('{{print 1 2 "x" 3}}', "1 2x3"),
    ('{{println "a" 1}}', "a 1\n"),
    ('{{html "<a&b>"}}', "&lt;a&amp;b&gt;"),
    ('{{urlquery "a b&c=d"}}', "a+b%26c%3Dd"),
    ("{{js \"it's <b>\"}}", "it\\'s \\u003Cb\\u003E"),
    ("{{(index .a.b 0)}}", "1"),
    ('{{or .n "d"}} {{and .n .n.x}}', "d <no value>"),  # and/or short-circuit: .n.x is never evaluated
    ('{{if and .s (eq .s "hi")}}ok{{end}}', "ok"),
    ("{{with .e}}x{{else with .s}}{{.}}{{end}}", "hi"),
    ("{{.a.b | len}}", "3"),
    ('{{define "T"}}<{{.}}>{{end}}{{template "T" .s}}', "<hi>"),
    ('{{"\\t\\u00e9\\x41"}}|{{`raw\\n`}}', "\té\x41|raw\\n"),
]


@pytest.mark.parametrize(("source", "expected"), GO_CASES)
def test_go_template_outputs(source, expected):
    assert Template(source).execute(DATA) == expected


def test_custom_delimiters_and_funcs():
    template = Template('[[ .s | shout "!" ]]', delims=("[[", "]]"), funcs={"shout": lambda p, s: s.upper() + p})
    assert template.execute(DATA) == "HI!"
    assert Template("{{ .s }} [[.s]]", delims=("[[", "]]")).execute(DATA) == "{{ .s }} hi"


def test_method_calls_on_time_header_and_url_values():
    moment = parse_time(LAYOUTS["RFC3339Nano"], "2024-03-05T07:08:09.123456789Z")
    header = Header([("x-a", "v1"), ("X-A", "v2")])
    data = {"t": moment, "h": header, "q": URLValues.parse("page=3&page=4&x=%20y")}
    expected_unix = int(dt.datetime(2024, 3, 5, 7, 8, 9, tzinfo=dt.UTC).timestamp())
    cases = {
        "{{.t.Unix}}": str(expected_unix),
        "{{.t.UnixMilli}}": str(expected_unix * 1000 + 123),
        "{{.t.UnixNano}}": str(expected_unix * 10**9 + 123456789),
        '{{.t.Format "2006-01-02"}}': "2024-03-05",
        "{{(.t.Add 3600000000000).Hour}}": "8",
        "{{.t.UTC.IsZero}}": "false",
        "{{.t}}": "2024-03-05 07:08:09.123456789 +0000 UTC",
        "{{(.t.Sub .t).String}}": "0s",
        "{{.t.Before (.t.Add 1)}} {{.t.After (.t.Add 1)}}": "true false",
        '{{.h.Get "X-A"}} {{.h.Values "x-a"}} {{index .h "X-A"}}': "v1 [v1 v2] [v1 v2]",
        '{{.q.Get "page"}} {{.q.Get "x"}} {{.q.page}} [{{.q.Get "none"}}]': "3  y [3 4] []",
    }
    for source, expected in cases.items():
        assert Template(source).execute(data) == expected, source


# (template, part of the message) — execution errors; each message names line:col.
EXEC_ERRORS = [
    ("{{.missing}}", 'map has no entry for key "missing"'),
    ("{{.s.x}}", "can't evaluate field x in type interface {}"),  # a map's element
    ("{{with .s}}{{.x}}{{end}}", "can't evaluate field x in type string"),  # a pipeline's value
    ("{{range .a.b}}{{.x}}{{end}}", "can't evaluate field x in type interface {}"),  # a slice's element
    ("{{range $v := .a.b}}{{$v.x}}{{end}}", "can't evaluate field x in type interface {}"),
    ("{{$v := .s}}{{$v.x}}", "can't evaluate field x in type string"),
    ("{{.n.x}}", "nil pointer evaluating interface {}.x"),
    ('{{eq 1 "a"}}', "incompatible types for comparison: int and string"),
    ("{{lt .f 2}}", "incompatible types for comparison: float64 and int"),
    ("{{lt true false}}", "invalid type for comparison"),
    ("{{index .a.b 5}}", "index out of range: 5"),
    ('{{"a" 1}}', 'can\'t give argument to non-function "a"'),
    ("{{(.s | len) 1}}", "can't give argument to non-function .s | len"),
    ("{{.m.z 1}}", "z is not a method but has arguments"),
]


@pytest.mark.parametrize(("source", "message"), EXEC_ERRORS)
def test_execution_errors(source, message):
    with pytest.raises(TemplateExecError) as info:
        Template(source).execute(DATA)
    assert message in str(info.value)
    assert ":1:" in str(info.value)


def test_python_object_fields_and_go_named_methods():
    class Request:
        method = "GET"
        _hidden = "x"

        def Path(self, prefix):  # noqa: N802 - Go-named method
            return prefix + "/p"

        def helper(self):
            return "not exported"

    assert Template('{{.method}} {{.Path "/a"}}').execute(Request()) == "GET /a/p"
    for source in ("{{._hidden}}", "{{.helper}}"):
        with pytest.raises(TemplateError):
            Template(source).execute(Request())


def test_missingkey_default_prints_no_value():
    assert Template("{{.missing}}", missingkey_error=False).execute(DATA) == "<no value>"


LONE_FIELD_DATA = {"s": "text", "n": 1.5, "i": 7, "m": {"k": "v", "deep": {"x": "y"}}, "l": ["a"], "nil": None,
                   "h": Header({"X-A": ["1"]}), "e": ""}


@pytest.mark.parametrize("source", ["{{.s}}", "{{.m.k}}", "{{.m.deep.x}}", "{{.n}}", "{{.i}}", "{{.m}}", "{{.l}}",
                                    "{{.nil}}", "{{.e}}", "{{.missing}}", "{{.m.missing}}", "{{.s.x}}", "{{.h}}",
                                    "{{.h.Get}}", "{{.nil.x}}"])
@pytest.mark.parametrize("missingkey_error", [True, False])
def test_a_lone_field_chain_prints_what_the_walk_prints(source, missingkey_error):
    # `{{.a.b}}` (a cursor value read for every event) skips the tree walk when it finds a string
    fast = Template(source, missingkey_error=missingkey_error)
    walked = Template(source, missingkey_error=missingkey_error)
    walked._field_path = None

    def outcome(template: Template) -> str:
        try:
            return template.execute(LONE_FIELD_DATA)
        except TemplateError as exc:
            return f"error: {exc}"

    assert fast._field_path is not None
    assert outcome(fast) == outcome(walked)


# (template, part of the message, position) — parse errors.
PARSE_ERRORS = [
    ("line1\n  {{.a", "unclosed action", ":2:"),
    ("{{nope}}", 'function "nope" not defined', ":1:3"),
    ("{{if .t}}x", "unexpected EOF", ":1:"),
    ("{{end}}", "unexpected {{end}}", ":1:3"),
    ("{{$u}}", 'undefined variable "$u"', ":1:3"),
    ("{{break}}", "{{break}} outside {{range}}", ":1:3"),
    ('x\n {{.a | "b"}}', "non executable command in pipeline stage 2", ":2:"),
    ("{{(.a}}", "unclosed left paren", ":1:"),
    ('{{"abc}}', "unterminated quoted string", ":1:3"),
    ("{{/* x }}", "unclosed comment", ":1:"),
]


@pytest.mark.parametrize(("source", "message", "position"), PARSE_ERRORS)
def test_parse_errors_name_the_position(source, message, position):
    with pytest.raises(TemplateParseError) as info:
        Template(source)
    assert message in str(info.value)
    assert position in str(info.value)


def test_errors_carry_line_column_and_reason():
    with pytest.raises(TemplateParseError) as parse:
        Template("a\n {{nope}}", name="t")
    assert (parse.value.line, parse.value.column, parse.value.reason) == (2, 4, 'function "nope" not defined')
    with pytest.raises(TemplateExecError) as execute:
        Template("x\n\n  {{.missing}}", name="t").execute(DATA)
    assert (execute.value.line, execute.value.column) == (3, 5)
    assert execute.value.reason == 'map has no entry for key "missing"'
    assert str(execute.value) == 'template: t:3:5: executing "t": map has no entry for key "missing"'


# --------------------------------------------------------------------------- Go time layouts

MOMENT = "2024-03-05T07:08:09.123456789Z"


@pytest.mark.parametrize(("layout", "expected"), [
    (LAYOUTS["RFC3339"], "2024-03-05T07:08:09Z"),
    (LAYOUTS["RFC3339Nano"], "2024-03-05T07:08:09.123456789Z"),
    (LAYOUTS["RFC1123"], "Tue, 05 Mar 2024 07:08:09 UTC"),
    (LAYOUTS["RFC1123Z"], "Tue, 05 Mar 2024 07:08:09 +0000"),
    (LAYOUTS["ANSIC"], "Tue Mar  5 07:08:09 2024"),
    (LAYOUTS["Kitchen"], "7:08AM"),
    (LAYOUTS["RFC822"], "05 Mar 24 07:08 UTC"),
    ("2006-01-02T15:04:05.000Z07:00", "2024-03-05T07:08:09.123Z"),
    ("Jan _2 06 3:04:05.999 PM -0700 MST", "Mar  5 24 7:08:09.123 AM +0000 UTC"),
    ("Monday January 2 002 __2", "Tuesday March 5 065  65"),
    ("15h04m05s,000000", "07h08m09s,123456"),
])
def test_format_layouts(layout, expected):
    assert parse_time(LAYOUTS["RFC3339Nano"], MOMENT).Format(layout) == expected


def test_format_with_offset_zone_and_trimmed_fraction():
    moment = parse_time(LAYOUTS["RFC3339"], "2024-03-05T07:08:09+02:00")
    assert moment.Format(LAYOUTS["RFC3339Nano"]) == "2024-03-05T07:08:09+02:00"
    assert moment.Format("Z07 -07:00:00 Z0700") == "+02 +02:00:00 +0200"
    assert moment.String() == "2024-03-05 07:08:09 +0200 +0200"
    assert moment.UTC().Format(LAYOUTS["RFC3339"]) == "2024-03-05T05:08:09Z"
    assert GoTime(0, 0).In("Asia/Tokyo").Format(LAYOUTS["RFC3339"]) == "1970-01-01T09:00:00+09:00"


@pytest.mark.parametrize(("layout", "value", "expected_utc"), [
    (LAYOUTS["RFC3339"], "2024-03-05T07:08:09.5+02:00", "2024-03-05T05:08:09.5Z"),
    (LAYOUTS["RFC3339"], "2024-03-05T07:08:09.123Z", "2024-03-05T07:08:09.123Z"),
    (LAYOUTS["RFC1123"], "Tue, 05 Mar 2024 07:08:09 GMT", "2024-03-05T07:08:09Z"),
    (LAYOUTS["RFC1123Z"], "Tue, 05 Mar 2024 07:08:09 -0130", "2024-03-05T08:38:09Z"),
    (LAYOUTS["ANSIC"], "Tue Mar  5 07:08:09 2024", "2024-03-05T07:08:09Z"),
    ("2006-01-02 3:04PM", "2024-03-05 7:08PM", "2024-03-05T19:08:00Z"),
    ("02/01/06", "05/03/24", "2024-03-05T00:00:00Z"),
    ("2006-002", "2024-065", "2024-03-05T00:00:00Z"),
])
def test_parse_layouts(layout, value, expected_utc):
    assert parse_time(layout, value).UTC().Format(LAYOUTS["RFC3339Nano"]) == expected_utc


@pytest.mark.parametrize(("layout", "value"), [
    (LAYOUTS["RFC3339"], "2024-03-05"),
    (LAYOUTS["RFC3339"], "2024-13-05T07:08:09Z"),
    (LAYOUTS["RFC3339"], "2024-02-30T07:08:09Z"),
    (LAYOUTS["RFC3339"], "2024-03-05T07:08:09Z trailing"),
    ("2006-01-02", "24-03-05"),
])
def test_parse_errors(layout, value):
    with pytest.raises(GoTimeError):
        parse_time(layout, value)


def test_zero_time():
    zero = GoTime.zero()
    assert zero.IsZero()
    assert zero.Format(LAYOUTS["RFC3339"]) == "0001-01-01T00:00:00Z"


@pytest.mark.parametrize(("text", "nanos"), [
    ("1h30m", 5400 * 10**9), ("-1.5h", -5400 * 10**9), ("300ms", 300 * 10**6), ("1us", 1000), ("1µs", 1000),
    ("0", 0), ("168h", 168 * 3600 * 10**9), ("2h45m30.5s", (2 * 3600 + 45 * 60 + 30) * 10**9 + 5 * 10**8),
])
def test_parse_duration(text, nanos):
    assert parse_duration(text) == nanos


@pytest.mark.parametrize("text", ["", "1d", "h", "1.5", "--1s", "1h 30m"])
def test_parse_duration_errors(text):
    with pytest.raises(GoTimeError):
        parse_duration(text)


def test_parse_duration_extra_units_extend_go_syntax():
    days = {"d": DAY}
    assert parse_duration("-1.5d", extra_units=days) == -36 * 3600 * 10**9
    assert parse_duration("1d12h", extra_units=days) == parse_duration("36h")
    with pytest.raises(GoTimeError, match="unknown unit"):
        parse_duration("1w", extra_units=days)


@pytest.mark.parametrize(("nanos", "expected"), [
    (0, "0s"), (5400 * 10**9, "1h30m0s"), (1500 * 10**6, "1.5s"), (1500 * 1000, "1.5ms"), (1500, "1.5µs"),
    (999, "999ns"), (-120 * 10**9, "-2m0s"), (3600 * 10**9 + 1, "1h0m0.000000001s"),
])
def test_duration_string(nanos, expected):
    assert format_duration(nanos) == expected
    assert str(Duration(nanos)) == expected


# --------------------------------------------------------------------------- differential: the real Go toolchain

GO_RUNNER = r"""
// Executes each template case of cases.json with Go's text/template; prints one JSON result per case.
package main

import (
	"encoding/json"
	"os"
	"strings"
	"text/template"
)

type testCase struct {
	Source     string          `json:"source"`
	Data       json.RawMessage `json:"data"`
	MissingKey string          `json:"missingkey"`
	Delims     [2]string       `json:"delims"`
}

type result struct {
	Output string `json:"output"`
	Phase  string `json:"phase"`
	Error  string `json:"error"`
}

// goValue turns decoded JSON into what Go code would hold: integers as int, other numbers as float64.
func goValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = goValue(e)
		}
	case []any:
		for i, e := range x {
			x[i] = goValue(e)
		}
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return int(i)
		}
		f, _ := x.Float64()
		return f
	}
	return v
}

func run(c testCase) result {
	dec := json.NewDecoder(strings.NewReader(string(c.Data)))
	dec.UseNumber()
	var data any
	if err := dec.Decode(&data); err != nil {
		return result{Phase: "data", Error: err.Error()}
	}
	t, err := template.New("").Delims(c.Delims[0], c.Delims[1]).Option("missingkey=" + c.MissingKey).Parse(c.Source)
	if err != nil {
		return result{Phase: "parse", Error: err.Error()}
	}
	var out strings.Builder
	if err := t.Execute(&out, goValue(data)); err != nil {
		return result{Output: out.String(), Phase: "exec", Error: err.Error()}
	}
	return result{Output: out.String()}
}

func main() {
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		panic(err)
	}
	var cases []testCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		panic(err)
	}
	results := make([]result, len(cases))
	for i, c := range cases {
		results[i] = run(c)
	}
	if err := json.NewEncoder(os.Stdout).Encode(results); err != nil {
		panic(err)
	}
}
"""

# Every template case above that needs no Python-only data or functions: (source, delims, missingkey).
DIFFERENTIAL_CASES = (
    [(source, ("{{", "}}"), "error") for source, _ in GO_CASES]
    + [(source, ("{{", "}}"), "error") for source, _ in EXEC_ERRORS]
    + [(source, ("{{", "}}"), "error") for source, _, _ in PARSE_ERRORS]
    + [("{{.missing}}", ("{{", "}}"), "default"), ("{{ .s }} [[.s]]", ("[[", "]]"), "error")]
)

# `template: NAME:LINE[:COL]: [executing "NAME"[ at <...>]: ]reason` — Go names no column in parse errors.
_ERROR_PARTS = re.compile(r'^template: [^:]*:(\d+)(?::\d+)?: (?:executing "[^"]*"(?: at <.*?>)?: )?(.*)$', re.S)


def _python_result(source: str, delims: tuple[str, str], missingkey: str) -> dict[str, str]:
    try:
        output = Template(source, delims=delims, missingkey_error=missingkey == "error").execute(DATA)
    except TemplateParseError as exc:
        return {"output": "", "phase": "parse", "error": str(exc)}
    except TemplateExecError as exc:
        return {"output": "", "phase": "exec", "error": str(exc)}
    return {"output": output, "phase": "", "error": ""}


def _error_parts(message: str) -> tuple[str, str]:
    """(line, reason) of a text/template error message."""
    match = _ERROR_PARTS.match(message)
    assert match, f"not a text/template error message: {message!r}"
    return match.group(1), match.group(2)


@pytest.fixture(scope="module")
def go_results(tmp_path_factory) -> list[dict[str, str]]:
    """The real text/template's result for each of DIFFERENTIAL_CASES: one `go run` for them all."""
    go = shutil.which("go")
    if go is None:
        pytest.skip("the Go toolchain (`go`) is not on PATH")
    folder = tmp_path_factory.mktemp("go-template")
    (folder / "main.go").write_text(GO_RUNNER, encoding="utf-8")
    cases = [{"source": source, "data": DATA, "delims": list(delims), "missingkey": missingkey}
             for source, delims, missingkey in DIFFERENTIAL_CASES]
    (folder / "cases.json").write_text(json.dumps(cases), encoding="utf-8")
    # the local toolchain and the standard library only: nothing is fetched
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOPROXY": "off", "GOFLAGS": "", "GOWORK": "off",
           "GOCACHE": str(settings.intpkg_home() / "cache" / "go-build")}
    done = subprocess.run([go, "run", "main.go", "cases.json"], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert len(results) == len(cases)
    return results


@pytest.mark.parametrize("index", range(len(DIFFERENTIAL_CASES)),
                         ids=[source for source, _, _ in DIFFERENTIAL_CASES])
def test_python_text_template_matches_go(go_results, index):
    """Same output; or the same kind of error (parse/exec) on the same line for the same reason.

    Not compared: the column (Go counts from 0 and names none in parse errors) and Go's `at <node>` context.
    """
    source, delims, missingkey = DIFFERENTIAL_CASES[index]
    want, got = go_results[index], _python_result(source, delims, missingkey)
    assert got["phase"] == want["phase"], (got, want)
    if not want["phase"]:
        assert got["output"] == want["output"]
        return
    go_line, go_reason = _error_parts(want["error"])
    line, reason = _error_parts(got["error"])
    assert line == go_line
    assert reason == go_reason
