"""HTTP layer of the input: budget → send → retry (go-retryablehttp policy) → rate limiter → status check."""

from __future__ import annotations

import logging
import socket
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests
import urllib3

from intpkg.golang.httpvalues import Header
from intpkg.input.config import HttpJsonConfig
from intpkg.input.ratelimit import Clock, Interrupted, RequestBudget, parse_retry_after
from intpkg.input.session import CredentialSafeSession
from intpkg.input.tracer import RequestTracer
from intpkg.input.transforms import ResponseState, TemplateFailure, TransformContext, execute_value
from intpkg.redact import Redactor

MAX_RATE_LIMIT_LOOPS = 20


@dataclass
class HttpRequest:
    method: str
    url: str
    header: Header
    body: bytes | None = None


#: bodies of these types are handed over while they arrive (`HttpResponse.stream`), not read whole
STREAMED_TYPES = frozenset({"application/x-ndjson"})
STREAM_CHUNK = 1 << 18  # bytes per read of a streamed body


@dataclass
class HttpResponse:
    status: int
    reason: str
    header: Header
    body: bytes
    url: str  # final URL (after redirects)
    request: HttpRequest
    #: a 200 response of a streamed type: its (content-decoded) body in chunks, read as they arrive;
    #: `body` is then empty. Each read waits at most request.timeout; a stop request ends it (Interrupted).
    stream: Iterator[bytes] | None = None


class RequestError(Exception):
    """A request failed; `status`/`body` keep the last HTTP answer if there was one (secrets redacted)."""

    def __init__(self, message: str, status: int | None = None, body: str = ""):
        super().__init__(message)
        self.status = status
        self.body = body


class HttpStatusError(RequestError):
    """The server answered with status >= 400."""


class NotRetryable(Exception):
    pass


def _is_retryable_status(status: int) -> bool:
    return status == 429 or status == 0 or (status >= 500 and status != 501)


class HttpClient:
    """Sends requests for one input with Filebeat's retry/rate-limit semantics plus the shared budget."""

    def __init__(self, cfg: HttpJsonConfig, *, session: requests.Session | None, budget: RequestBudget,
                 clock: Clock, redactor: Redactor, tracer: RequestTracer | None, log: logging.Logger):
        self.cfg = cfg
        # credential headers never follow a redirect to another host (intpkg.input.session)
        self.session = session or CredentialSafeSession(forward_headers=cfg.forward_headers,
                                                        headers_ban_list=cfg.headers_ban_list)
        self.session.max_redirects = cfg.max_redirects
        self.budget = budget
        self.clock = clock
        self.redactor = redactor
        self.tracer = tracer
        self.log = log
        self._verify, self._cert = self._tls_options()
        self._proxies = {"http": cfg.proxy_url, "https": cfg.proxy_url} if cfg.proxy_url else None
        self.requests_sent = 0

    def _tls_options(self):
        ssl = self.cfg.ssl
        verify: bool | str = True
        if not ssl.enabled or ssl.verification_mode == "none":
            verify = False
        elif ssl.certificate_authorities:
            pems = []
            for ca in ssl.certificate_authorities:
                pems.append(ca if "-----BEGIN" in ca else Path(ca).read_text())
            bundle = tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False)
            bundle.write("\n".join(pems))
            bundle.close()
            verify = bundle.name
        cert = (ssl.certificate, ssl.key) if ssl.certificate else None
        return verify, cert

    # ------------------------------------------------------------------ public

    def do(self, req: HttpRequest, *, stream: bool = False) -> HttpResponse:
        """Send through retry and rate-limit layers; status >= 400 raises HttpStatusError.

        With `stream`, a 200 response of a STREAMED_TYPES content type (request.decode_as, else its
        Content-Type) comes back with `stream` instead of `body`: memory does not grow with the body.
        """
        resp = None
        for _ in range(MAX_RATE_LIMIT_LOOPS):
            resp = self._with_retry(req, stream)
            applied, resume_at = self._rate_limit(resp)
            if resume_at:
                wait = resume_at - self.clock.time()
                if wait > 0:
                    self.log.debug("rate limit: waiting %.1fs for the reset", wait)
                    self.clock.sleep(wait)
            if resp.status == 200 or not applied:
                break
        else:
            raise RequestError(f"{req.method} {self._safe_url(req.url)}: still rate limited after "
                               f"{MAX_RATE_LIMIT_LOOPS} re-issued requests", resp.status, self._body_text(resp))
        if resp.status >= 400:
            body = self._body_text(resp)
            status_text = f"{resp.status} {resp.reason}".strip()
            message = f"server responded with status code {status_text}" + (f": {body}" if body else "")
            raise HttpStatusError(message, resp.status, body)
        return resp

    # ------------------------------------------------------------------ layers

    def _with_retry(self, req: HttpRequest, stream: bool = False) -> HttpResponse:
        retry = self.cfg.retry
        retry_enabled = retry.max_attempts > 1
        attempt = 0
        last: HttpResponse | None = None
        last_error: Exception | None = None
        i = 0
        while True:
            attempt += 1
            try:
                last, last_error = self._send_once(req, stream), None
            except NotRetryable as exc:
                raise RequestError(str(exc)) from None
            except requests.RequestException as exc:
                last, last_error = None, exc
            if last is not None and not _is_retryable_status(last.status):
                return last
            if not retry_enabled:
                if last_error is not None:
                    raise RequestError(f"{req.method} {self._safe_url(req.url)}: "
                                       f"{self.redactor.text(str(last_error))}") from None
                return last
            if retry.max_attempts - i <= 0:
                break
            wait = self._backoff(i, last)
            self.log.debug("retrying %s %s in %.1fs (attempt %d)", req.method, self._safe_url(req.url), wait,
                           attempt)
            self.clock.sleep(wait)
            i += 1
        message = f"{req.method} {self._safe_url(req.url)} giving up after {attempt} attempt(s)"
        if last is not None:
            body = self._body_text(last)
            message += f": last status {last.status}" + (f": {body}" if body else "")
            raise RequestError(message, last.status, body)
        raise RequestError(f"{message}: {self.redactor.text(str(last_error))}")

    def _backoff(self, attempt_num: int, resp: HttpResponse | None) -> float:
        retry = self.cfg.retry
        if resp is not None and resp.status in (429, 503):
            after = parse_retry_after(resp.header.Get("Retry-After"), self.clock.time())
            if after is not None:
                return after
        wait = (2 ** attempt_num) * retry.wait_min
        return min(wait, retry.wait_max)

    def _rate_limit(self, resp: HttpResponse) -> tuple[bool, float]:
        """Filebeat's rate limiter: (limit reached, resume epoch seconds or 0)."""
        rate = self.cfg.rate_limit
        if rate is None or rate.remaining is None:
            return False, 0.0
        ctx = TransformContext()
        ctx.last_response = ResponseState(header=resp.header.Clone())
        remaining = self._eval_quiet(rate.remaining, ctx)
        if remaining == "":
            self.log.info("rate limit: remaining value is empty, not limiting")
            return False, 0.0
        try:
            left = int(remaining)
        except ValueError:
            raise RequestError(f"failed to parse rate-limit remaining value: {remaining!r}") from None
        threshold = 0
        if rate.early_limit is not None:
            if 0 < rate.early_limit < 1 and rate.limit is not None:
                limit_text = self._eval_quiet(rate.limit, ctx)
                try:
                    limit = int(limit_text)
                    threshold = limit - int(rate.early_limit * limit)
                except ValueError:
                    pass
            elif rate.early_limit >= 1:
                threshold = int(rate.early_limit)
        if left > threshold:
            return False, 0.0
        if rate.reset is None:
            self.log.warning("rate limit: reset is not set")
            return False, 0.0
        reset = self._eval_quiet(rate.reset, ctx)
        if reset == "":
            return False, 0.0
        try:
            resume_at = int(reset)
        except ValueError:
            raise RequestError(f"failed to parse rate-limit reset value: {reset!r}") from None
        if self.clock.time() > resume_at:
            return True, 0.0
        return True, float(resume_at)

    @staticmethod
    def _eval_quiet(template, ctx) -> str:
        try:
            return execute_value(template, ctx, None)
        except TemplateFailure:
            return ""

    # ------------------------------------------------------------------ one HTTP exchange

    def _send_once(self, req: HttpRequest, stream: bool = False) -> HttpResponse:
        self.redactor.add_from_headers(req.header)
        key = self.budget.key_for(req.header, self.cfg.basic_user, urlsplit(req.url).netloc)
        waited = self.budget.acquire(key)
        if waited > 0:
            self.log.info("request budget: waited %.1fs before %s %s", waited, req.method,
                          self._safe_url(req.url))
        started = time.monotonic()
        transaction = uuid.uuid4().hex[:12]
        headers: dict[str, str] = {}
        for name, values in req.header.go_items():
            headers[name] = ", ".join(values)
        self.requests_sent += 1
        try:
            with warnings.catch_warnings():
                if self._verify is False:  # verification_mode: none was asked for explicitly
                    warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
                raw, body = self._exchange(
                    req.method, req.url, stream, headers=headers, data=req.body, timeout=self.cfg.timeout,
                    verify=self._verify, cert=self._cert, proxies=self._proxies, allow_redirects=True,
                )
        except requests.TooManyRedirects:
            self.budget.record_failure(key)
            self._trace(req, None, None, f"stopped after {self.cfg.max_redirects} redirects", started,
                        transaction)
            raise NotRetryable(f"{req.method} {self._safe_url(req.url)}: stopped after "
                               f"{self.cfg.max_redirects} redirects") from None
        except (requests.exceptions.ContentDecodingError, requests.exceptions.InvalidURL,
                requests.exceptions.InvalidSchema, requests.exceptions.MissingSchema,
                requests.exceptions.InvalidHeader) as exc:
            self.budget.record_failure(key)
            message = self.redactor.text(str(exc))
            self._trace(req, None, None, message, started, transaction)
            raise NotRetryable(f"{req.method} {self._safe_url(req.url)}: {message}") from None
        except requests.exceptions.SSLError as exc:
            self.budget.record_failure(key)
            message = self.redactor.text(str(exc))
            self._trace(req, None, None, message, started, transaction)
            if "certificate" in message.lower():
                raise NotRetryable(f"{req.method} {self._safe_url(req.url)}: TLS error: {message}") from None
            raise
        except requests.RequestException as exc:
            self.budget.record_failure(key)
            self._trace(req, None, None, self.redactor.text(str(exc)), started, transaction)
            raise
        header = Header([(k, v) for k, v in raw.headers.items()])
        chunks = self._chunks(raw) if body is None else None
        resp = HttpResponse(raw.status_code, raw.reason or "", header, body or b"", raw.url, req, chunks)
        self.budget.record_response(key, resp.status, header)
        self._trace(req, resp, body, "" if body is not None else "(body streamed, not traced)", started,
                    transaction)
        return resp

    def _streams(self, response: requests.Response) -> bool:
        content_type = self.cfg.decode_as or response.headers.get("Content-Type", "").split(";")[0].strip()
        return response.status_code == 200 and content_type in STREAMED_TYPES

    def _chunks(self, response: requests.Response) -> Iterator[bytes]:
        """The body as it arrives, content-decoded (gzip); read errors become requests exceptions."""
        stop = getattr(self.clock, "stop_event", None)
        try:
            for chunk in response.iter_content(STREAM_CHUNK):
                if stop is not None and stop.is_set():
                    raise Interrupted("stopped while reading a response")
                yield chunk
        finally:
            response.close()

    def _exchange(self, method: str, url: str, stream: bool = False,
                  **kwargs) -> tuple[requests.Response, bytes | None]:
        """One request and its whole body within `request.timeout` in all (with `stream`, a streamed
        type's body is left to read: None, see `_streams`).

        requests' timeout bounds each socket read, so a server dripping a byte every few seconds could
        hold the input forever; here the exchange runs in a worker thread and is given up at the deadline
        (raising requests.Timeout, which is retried like any timeout), or at once when the clock's stop
        event is set (SIGTERM/SIGINT: raising Interrupted).
        """
        box: dict[str, object] = {}

        def work() -> None:
            try:
                response = self.session.request(method, url, stream=True, **kwargs)
                box["response"] = response
                box["body"] = None if stream and self._streams(response) else response.content
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                box["error"] = exc

        worker = threading.Thread(target=work, name="httpjson-exchange", daemon=True)
        worker.start()
        deadline = time.monotonic() + self.cfg.timeout
        stop = getattr(self.clock, "stop_event", None)
        while worker.is_alive():
            if stop is not None and stop.is_set():
                _abandon(box)
                raise Interrupted("stopped during a request")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                _abandon(box)
                raise requests.Timeout(f"no complete response within {self.cfg.timeout:g}s (request.timeout)")
            worker.join(min(remaining, 0.1))
        if "error" in box:
            raise box["error"]  # type: ignore[misc]
        return box["response"], box["body"]  # type: ignore[return-value]

    def _trace(self, req: HttpRequest, resp: HttpResponse | None, body: bytes | None, error: str,
               started: float, transaction: str) -> None:
        if self.tracer is None:
            return
        self.tracer.trace(method=req.method, url=req.url, request_headers=req.header, request_body=req.body,
                          status=resp.status if resp else None, response_headers=resp.header if resp else None,
                          response_body=body, error=error, duration=time.monotonic() - started,
                          transaction_id=transaction)

    def _body_text(self, resp: HttpResponse | None, limit: int = 2000) -> str:
        if resp is None or not resp.body:
            return ""
        text = resp.body[:limit].decode("utf-8", errors="replace").strip()
        return self.redactor.text(text)

    def _safe_url(self, url: str) -> str:
        return self.redactor.text(url)


def _abandon(box: dict[str, object]) -> None:
    """Best effort to free a request given up on: close its response and socket (the thread then ends)."""
    response = box.get("response")
    if isinstance(response, requests.Response):
        try:
            sock = response.raw._connection.sock  # noqa: SLF001 - no public handle on the socket
            sock.shutdown(socket.SHUT_RDWR)
        except Exception:  # noqa: BLE001 - already closed, or no socket yet
            pass
        response.close()


__all__ = ["HttpClient", "HttpRequest", "HttpResponse", "RequestError", "HttpStatusError"]
