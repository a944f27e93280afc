"""`HttpJsonInput`: one httpjson stream, run one interval at a time (requests, pages, events, cursor).

Deliberate differences from Filebeat's httpjson (stricter or safer, same results otherwise):
- the new cursor is returned only when the whole interval (all pages) succeeded; any request, decode,
  transform or split error fails the interval (Filebeat logs some of them and moves on);
- a pagination request repeated twice in a row, or built with no pagination value at all, stops with an
  "indefinite pagination" error (Filebeat repeats it forever); `max_pages` caps an interval;
- retry exhaustion keeps the last status and body; all error texts and traces are redacted;
- JSON integers stay integers (Go decodes float64), so big ids print in full and `eq .n 1` works;
- Content-Type parameters (`; charset=...`) are ignored when picking the decoder;
- a shared `RequestBudget` (per credential, under the caller's `BudgetPolicy`: quota and remaining-quota
  header) and a single probe request after a 429 protect the account;
- chain, OAuth2/AWS/file auth, XML and form encoding are refused.
"""

from __future__ import annotations

import base64
import copy
import csv
import gzip
import io
import json
import logging
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import requests

from intpkg import jsoncodec
from intpkg.golang.gotime import GoTime
from intpkg.golang.httpvalues import GoURL, Header
from intpkg.input.client import HttpClient, HttpRequest, HttpResponse, RequestError
from intpkg.input.config import ConfigError, HttpJsonConfig, TransformConfig, parse_config
from intpkg.input.funcs import user_agent
from intpkg.input.ratelimit import Clock, Interrupted, RequestBudget, SystemClock
from intpkg.input.session import CredentialSafeSession
from intpkg.input.split import SplitError, run_split
from intpkg.input.tracer import RequestTracer
from intpkg.input.transforms import (
    NewURLValueNotSet,
    ResponseState,
    TemplateFailure,
    Transformable,
    TransformContext,
    TransformError,
    apply_transform,
    execute_value,
)
from intpkg.jsoncodec import clone_json
from intpkg.redact import Redactor

Publish = Callable[[dict, dict], None]
DEFAULT_MAX_PAGES = 10_000


class DecodeError(Exception):
    """A response body could not be decoded."""


class PaginationLoopError(Exception):
    """Pagination would repeat the same request forever (Filebeat's "indefinite pagination")."""


@dataclass
class IntervalResult:
    """Outcome of one interval; `cursor` is set only when every page succeeded."""

    ok: bool
    cursor: dict | None
    events: int = 0
    pages: int = 0
    requests: int = 0
    error: str = ""
    status: int | None = None
    body: str = ""
    duration: float = 0.0
    stopped_by: str = ""  # why pagination ended (no_pagination, empty_body, no_events, template, ...)
    notes: list[str] = field(default_factory=list)


class _Stop(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class HttpJsonInput:
    """One httpjson stream; call `run_interval(cursor)` every `config.interval` seconds."""

    def __init__(self, config: HttpJsonConfig | dict, *, session: requests.Session | None = None,
                 budget: RequestBudget | None = None, clock: Clock | None = None,
                 logger: logging.Logger | None = None, publish: Publish | None = None,
                 secrets: list[str] | tuple[str, ...] = (), input_id: str = "",
                 now: Callable[[], GoTime] | None = None, max_pages: int = DEFAULT_MAX_PAGES) -> None:
        self.config = config if isinstance(config, HttpJsonConfig) else parse_config(config, input_id=input_id)
        self.clock = clock or SystemClock()
        self.log = logger or logging.getLogger("intpkg.input.httpjson")
        self.publish = publish
        self.max_pages = max_pages
        self.redactor = Redactor(list(secrets))
        if self.config.basic_password:
            self.redactor.add(self.config.basic_password)
        tracer = None
        if self.config.tracer.enabled:
            tracer = RequestTracer(self.config.tracer.filename, self.redactor,
                                   int(self.config.tracer.maxsize_mb * 1024 * 1024), self.config.tracer.maxbackups)
        self.budget = budget or RequestBudget(clock=self.clock)
        if session is None:
            session = CredentialSafeSession(forward_headers=self.config.forward_headers,
                                            headers_ban_list=self.config.headers_ban_list)
        self.client = HttpClient(self.config, session=session, budget=self.budget, clock=self.clock,
                                 redactor=self.redactor, tracer=tracer, log=self.log)
        self.ctx = TransformContext()
        self._repeats = 0
        if now is None and clock is not None:
            now = lambda: GoTime.from_unix_nano(int(self.clock.time() * 1e9))  # noqa: E731
        self._now = now
        if now is not None:
            _install_now(self.config, now)

    # ------------------------------------------------------------------ interval

    def run_interval(self, cursor: dict | None = None, publish: Publish | None = None,
                     checkpoint: Callable[[dict], None] | None = None) -> IntervalResult:
        """Fetch every page once; publish events; return the new cursor only if all pages succeeded.

        `publish(event_body, cursor_after)` may block (backpressure) and must treat event_body as read-only
        (it stays `.last_event` for the templates); persist `IntervalResult.cursor`, not `cursor_after`.
        `checkpoint(cursor)` is called after each page's events were published: once they are all
        acknowledged, that cursor may be persisted even if a later page fails.
        """
        publish = publish or self.publish
        if publish is None:
            raise ValueError("run_interval needs a publish(event_body, cursor_after) callback")
        started = self.clock.time()
        sent_before = self.client.requests_sent
        self.ctx.cursor = copy.deepcopy(cursor or {})
        result = IntervalResult(ok=False, cursor=None)
        try:
            self._interval(publish, result, checkpoint)
        except (RequestError, TemplateFailure, TransformError, DecodeError, SplitError, PaginationLoopError,
                Interrupted) as exc:
            result.error = self.redactor.text(str(exc))
            if isinstance(exc, RequestError):
                result.status, result.body = exc.status, exc.body
            self.log.error("error while processing http request: %s", result.error)
        else:
            result.ok = True
            self._update_cursor(mode="empty")
            result.cursor = copy.deepcopy(self.ctx.cursor)
            self.log.info("request finished: %d events published", result.events)
        result.requests = self.client.requests_sent - sent_before
        result.duration = self.clock.time() - started
        return result

    def _interval(self, publish: Publish, result: IntervalResult,
                  checkpoint: Callable[[dict], None] | None = None) -> None:
        cfg = self.config
        self._repeats = 0
        request = self._build_request(pagination=False)
        response = self.client.do(request, stream=True)
        if cfg.save_first_response:
            self.ctx.first_response = self._first_response(response)
        self.ctx.clear_interval_data()
        page_number = 0
        previous_request = request
        while True:
            page, documents = self._page(response, page_number)
            page_number += 1
            result.pages += 1
            self.ctx.last_response = page  # also for an empty page: `update_on_empty` cursors read it
            if page_number > 1 and page.body is None and response.stream is None:
                result.stopped_by = "empty_body"
                return
            published = result.events
            seen = self._publish_page(request, response, page, documents, publish, result)
            if not seen:
                result.stopped_by = "no_events"
                return
            if result.events > published:
                self._update_cursor(mode="page")
            if checkpoint is not None and result.events > published:
                checkpoint(copy.deepcopy(self.ctx.cursor))
            if not cfg.pagination:
                result.stopped_by = "no_pagination"
                return
            if page_number >= self.max_pages:
                raise PaginationLoopError(f"pagination stopped after {self.max_pages} pages (max_pages)")
            try:
                request = self._build_request(pagination=True, previous=previous_request)
            except _Stop as stop:
                result.stopped_by = stop.reason
                return
            previous_request = request
            response = self.client.do(request, stream=True)

    def _publish_page(self, request: HttpRequest, response: HttpResponse, page: ResponseState,
                      documents: Iterable[dict], publish: Publish, result: IntervalResult) -> int:
        """Publish the page's events; how many documents it had.

        A streamed body whose connection breaks off is asked for again at once (up to
        request.retry.max_attempts): the events already published come again and are stored once
        (their `_id`), the rest is not lost.
        """
        attempts = 1
        while True:
            seen = 0
            try:
                for document in documents:
                    seen += 1
                    for event in self._process_document(document, page):
                        self._publish(event, publish)
                        result.events += 1
                return seen
            except BodyBrokeOff as exc:
                if attempts >= self.config.retry.max_attempts:
                    raise
                attempts += 1
                self.log.warning("%s; asking for the page again (attempt %d)", exc, attempts)
                response = self.client.do(request, stream=True)
                _, documents = self._page(response, page.page)

    # ------------------------------------------------------------------ requests

    def _build_request(self, pagination: bool, previous: HttpRequest | None = None) -> HttpRequest:
        cfg = self.config
        tr = Transformable(url=GoURL(cfg.url), header=Header())
        if cfg.body is not None and (not pagination or cfg.request_body_on_pagination):
            tr.body = copy.deepcopy(cfg.body)
        tr.header.Set("Accept", "application/json")
        tr.header.Set("User-Agent", user_agent())
        for transform in cfg.request_transforms:
            self._request_transform(transform, tr, pagination)
        applied = 0
        for transform in cfg.pagination if pagination else []:
            if self._request_transform(transform, tr, pagination):
                applied += 1
        body = None
        if cfg.method == "POST":
            if tr.body:
                tr.header.Set("Content-Type", "application/json")
                body = json.dumps(tr.body, separators=(",", ":")).encode()
            elif not tr.header.Get("Content-Type"):
                tr.header.Set("Content-Type", "application/json")
        if cfg.basic_user or cfg.basic_password:
            token = base64.b64encode(f"{cfg.basic_user}:{cfg.basic_password}".encode()).decode()
            tr.header.Set("Authorization", f"Basic {token}")
        request = HttpRequest(cfg.method, tr.url.String(), tr.header, body)
        if pagination:
            if applied == 0:
                raise PaginationLoopError(
                    "indefinite pagination: no response.pagination transform produced a value, so the same "
                    "page would be requested forever; set fail_on_template_error: true on the value that "
                    "ends paging")
            if previous is not None and (previous.url, previous.body) == (request.url, request.body):
                self._repeats += 1
            else:
                self._repeats = 0
            # one repeat is legitimate (e.g. the 0-based page counter re-asks page 1); two in a row is a loop
            if self._repeats >= 2:
                raise PaginationLoopError(
                    f"indefinite pagination: the next page request repeats {self.redactor.text(request.url)}; "
                    "set fail_on_template_error: true on the pagination value that ends paging")
        return request

    def _request_transform(self, transform: TransformConfig, tr: Transformable, pagination: bool) -> bool:
        try:
            return apply_transform(transform, self.ctx, tr, self.log)
        except (TemplateFailure, NewURLValueNotSet) as exc:
            if pagination:
                if not transform.do_not_log_failure:
                    self.log.debug("pagination ended: %s", exc)
                raise _Stop("template") from None
            raise TemplateFailure(f"failed to create http request: {transform.key}: {exc}") from None

    def _first_response(self, response: HttpResponse) -> ResponseState:
        try:
            body = json.loads(response.body) if response.body else None
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = None
        return ResponseState(url=GoURL(response.url), header=response.header.Clone(), body=body)

    # ------------------------------------------------------------------ responses

    def _page(self, response: HttpResponse, page: int) -> tuple[ResponseState, Iterable[dict]]:
        """The page's state for templates and its documents: decoded whole, or (a streamed NDJSON body)
        one line at a time while the body arrives, so that memory does not grow with the page."""
        if response.stream is None:
            state = self._decode(response, page)
            return state, _as_documents(state.body, self.log)
        state = ResponseState(url=GoURL(response.url), header=response.header.Clone(), page=page)
        return state, _stream_ndjson(response.stream, page, self.log)

    def _decode(self, response: HttpResponse, page: int) -> ResponseState:
        raw = response.body
        state = ResponseState(url=GoURL(response.url), header=response.header.Clone(), page=page)
        if not raw:
            return state
        if raw[:2] == b"\x1f\x8b":  # gzip payload not unwrapped by the transport
            try:
                raw = gzip.decompress(raw)
            except (OSError, EOFError, zlib.error) as exc:
                raise DecodeError(f"failed to decode page {page}: truncated or invalid gzip body: {exc}") from None
        content_type = self.config.decode_as or response.header.Get("Content-Type").split(";")[0].strip()
        try:
            state.body = decode_body(content_type, raw)
        except DecodeError as exc:
            raise DecodeError(f"failed to decode page {page} ({content_type or 'application/json'}): {exc}") \
                from None
        return state

    def _process_document(self, document: dict, page: ResponseState) -> list[dict]:
        cfg = self.config
        if not cfg.response_transforms and cfg.split is None:
            return [document]  # nothing reshapes it: the decoded document is the event (no copy)
        if cfg.split is not None and cfg.split.edits_elements:
            body = clone_json(document)  # the split writes into the elements: they must not be the page's
            tr = Transformable(body=body, header=page.header.Clone(), url=page.url)
        else:  # templates read the page as it came: transforms copy only the objects they write into
            tr = Transformable(body=dict(document), header=page.header.Clone(), url=page.url, shared=True)
        for transform in cfg.response_transforms:
            apply_transform(transform, self.ctx, tr, self.log)
        body = tr.body if tr.body is not None else {}
        if cfg.split is None:
            return [body]
        events: list[dict] = []
        run_split(cfg.split, self.ctx, body, events.append, self.log)
        return events

    def _publish(self, event: dict, publish: Publish) -> None:
        if not self.ctx.first_event:
            self.ctx.first_event = event
        self.ctx.last_event = event
        self._update_cursor(mode="event")
        publish(event, dict(self.ctx.cursor))

    def _update_cursor(self, mode: str) -> None:
        """Evaluate cursor entries: per published event those that read the event (`event`), once after a
        page's events the others (`page`: the value they would have after its last event), and after a
        successful interval the `update_on_empty` ones (`empty`)."""
        for entry in self.config.cursor:
            if mode == "event" and not entry.reads_events or mode == "page" and entry.reads_events \
                    or mode == "empty" and not entry.update_on_empty:
                continue
            try:
                value = execute_value(entry.value, self.ctx, None, entry.default)
            except TemplateFailure:
                value = ""
            if value != "" or not entry.ignore_empty_value:
                self.ctx.cursor[entry.name] = value


# --------------------------------------------------------------------------- decoding


def _as_documents(body: Any, log: logging.Logger) -> list[dict]:
    if isinstance(body, dict):
        return [body]
    if isinstance(body, list):
        documents = [item for item in body if isinstance(item, dict)]
        if len(documents) != len(body):
            log.debug("skipped %d non-object array elements", len(body) - len(documents))
        return documents
    return []


class BodyBrokeOff(DecodeError):
    """The connection of a streamed body broke off (as opposed to a body that is not valid)."""


def _stream_ndjson(chunks: Iterator[bytes], page: int, log: logging.Logger) -> Iterator[dict]:
    """Objects of an NDJSON body read chunk by chunk (a gzip body the transport left packed is unpacked);
    a line that is not JSON, or a body cut short, raises DecodeError after the lines before it."""
    unpack: Any = None
    rest = b""
    line_number = 0
    try:
        for chunk in chunks:
            if unpack is None:
                unpack = zlib.decompressobj(31) if (rest + chunk)[:2] == b"\x1f\x8b" else False
            data = rest + (unpack.decompress(chunk) if unpack else chunk)
            lines = data.split(b"\n")
            rest = lines.pop()
            for line in lines:
                line_number += 1
                yield from _ndjson_line(line, line_number, page, log)
        if unpack and not unpack.eof:
            raise DecodeError(f"failed to decode page {page}: truncated gzip body")
    except zlib.error as exc:
        raise DecodeError(f"failed to decode page {page}: truncated or invalid gzip body: {exc}") from None
    except requests.RequestException as exc:
        raise BodyBrokeOff(f"failed to decode page {page}: the body broke off: {exc.__class__.__name__}") \
            from None
    if rest.strip():
        yield from _ndjson_line(rest, line_number + 1, page, log)


def _ndjson_line(line: bytes, number: int, page: int, log: logging.Logger) -> Iterator[dict]:
    if not line.strip():
        return
    try:
        item = jsoncodec.loads(line)
    except ValueError as exc:
        raise DecodeError(f"failed to decode page {page} (application/x-ndjson): invalid JSON value on line "
                          f"{number}: {getattr(exc, 'msg', exc)}") from None
    if isinstance(item, dict):
        yield item
    else:
        log.debug("skipped a non-object NDJSON value on line %d", number)


def decode_body(content_type: str, raw: bytes) -> Any:
    """Decode by content type (JSON by default); raises DecodeError.

    Invalid UTF-8 in JSON and NDJSON becomes U+FFFD, as Go's encoding/json does: one bad byte in a
    record must not fail the page (and, the same page being asked for again, every later interval).
    """
    try:
        if content_type == "application/x-ndjson":
            return _decode_ndjson(raw.decode("utf-8", errors="replace"))
        if content_type == "text/csv":
            rows = list(csv.reader(io.StringIO(raw.decode("utf-8"))))
            if not rows:
                return None
            header, records = rows[0], rows[1:]
            out = []
            for number, record in enumerate(records, start=2):
                if len(record) != len(header):
                    raise DecodeError(f"record on line {number}: wrong number of fields")
                out.append(dict(zip(header, record, strict=True)))
            return out
        if content_type == "application/zip":
            out = []
            with zipfile.ZipFile(io.BytesIO(raw)) as archive:
                for name in archive.namelist():
                    out.extend(_decode_ndjson(archive.read(name).decode("utf-8")))
            return out
        return jsoncodec.loads(raw)
    except DecodeError:
        raise
    except (ValueError, UnicodeDecodeError, zipfile.BadZipFile, csv.Error) as exc:
        raise DecodeError(str(exc)) from None


def _decode_ndjson(text: str) -> list[Any]:
    """A JSON value stream (like Go's json.Decoder): fails on the first bad item."""
    decoder = json.JSONDecoder()
    items: list[Any] = []
    pos = 0
    length = len(text)
    while True:
        while pos < length and text[pos] in " \t\r\n":
            pos += 1
        if pos >= length:
            return items
        try:
            item, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            line = text.count("\n", 0, exc.pos) + 1
            raise DecodeError(f"invalid JSON value on line {line}: {exc.msg}") from None
        items.append(item)


def _install_now(cfg: HttpJsonConfig, now: Callable[[], GoTime]) -> None:
    """Re-bind `now` in every compiled template (tests freeze time this way)."""
    from intpkg.input.funcs import template_funcs

    funcs = template_funcs(now)
    templates = []
    for transform in [*cfg.request_transforms, *cfg.response_transforms, *cfg.pagination]:
        templates += [transform.value, transform.default]
    split = cfg.split
    while split is not None:
        for transform in split.transforms:
            templates += [transform.value, transform.default]
        split = split.split
    for entry in cfg.cursor:
        templates += [entry.value, entry.default]
    if cfg.rate_limit:
        templates += [cfg.rate_limit.limit, cfg.rate_limit.remaining, cfg.rate_limit.reset]
    for template in templates:
        if template is not None:
            template.template.funcs.update(funcs)


__all__ = ["HttpJsonInput", "IntervalResult", "ConfigError", "decode_body"]
