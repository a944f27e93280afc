"""One client interface for the cluster intpkg talks to: Elasticsearch 8.x or OpenSearch.

A `Target` says where the cluster is and how to authenticate; `SearchClient` wraps the official
client of the detected product (`elasticsearch` 8.x or `opensearch-py`) behind a few calls:
`request()` for any REST call, `bulk_create()` for the collector's indexing and `streaming_bulk()`
for the rest.

Credentials live only in the `Target`; its repr and every error message leave them out.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

import requests

from intpkg import jsoncodec, settings
from intpkg.errors import IntpkgError

POOL_SIZE = 8  # connections per cluster node the client keeps (Elasticsearch's client keeps 10)
# a bulk answer with only what a shipper reads per document (as Beats asks for it): not each one's metadata
BULK_FILTER_PATH = "errors,items.*.status,items.*.error"

# The clients log every non-2xx answer as a warning, expected ones too (a 404 when probing for a
# template); intpkg raises or reports the errors that matter itself.
for _name in ("opensearch", "elastic_transport.transport"):
    logging.getLogger(_name).setLevel(logging.ERROR)


def split_userinfo(url: str) -> tuple[str, str | None, str | None]:
    """(`url` without `user:password@`, user, password): a Target's URL never carries credentials,
    so printing it (reports, errors, status lines) cannot show them."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None, None
    host = parts.hostname or ""
    netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return urlunsplit(parts._replace(netloc=netloc)), user, password


@dataclass(frozen=True)
class Target:
    """Address and credentials of a cluster. Secrets are excluded from repr."""

    url: str
    api_key: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_cert: str | None = None
    verify_certs: bool = True
    external: bool = False

    @classmethod
    def from_env(cls, default_url: str | None = None, **overrides: Any) -> Target | None:
        """Build a target from flags (overrides) and environment; None when nothing names a cluster."""
        url = overrides.get("url") or settings.cluster_setting("URL") or settings.cluster_setting("HOST")
        external = url is not None
        url = url or default_url
        if not url:
            return None
        insecure = overrides.get("insecure") or \
            (settings.cluster_setting("INSECURE") or "").lower() in ("1", "true", "yes")
        url, url_user, url_password = split_userinfo(url)
        return cls(
            url=url.rstrip("/"),
            api_key=overrides.get("api_key") or settings.cluster_setting("API_KEY"),
            username=overrides.get("username") or settings.cluster_setting("USERNAME") or url_user,
            password=overrides.get("password") or settings.cluster_setting("PASSWORD") or url_password,
            ca_cert=overrides.get("ca_cert") or settings.cluster_setting("CA_CERT"),
            verify_certs=not insecure,
            external=external,
        )

    def requests_kwargs(self) -> dict[str, Any]:
        headers = {}
        auth = None
        if self.api_key:
            headers["Authorization"] = f"ApiKey {self.api_key}"
        elif self.username:
            auth = (self.username, self.password or "")
        verify: bool | str = self.ca_cert or self.verify_certs
        return {"headers": headers, "auth": auth, "verify": verify}


class SearchClient:
    """The product's official client, behind a small common interface."""

    def __init__(self, target: Target, *, request_timeout: float = 60.0) -> None:
        self.target = target
        self.request_timeout = request_timeout
        self.root = self._probe()
        self.flavor = self.root.get("version", {}).get("distribution", "elasticsearch")
        self.version = self.root.get("version", {}).get("number", "unknown")
        self._client = self._make_client()

    def __repr__(self) -> str:
        return f"SearchClient({self.target.url!r}, {self.flavor} {self.version})"

    def _probe(self) -> dict[str, Any]:
        try:
            resp = requests.get(self.target.url + "/", timeout=10, **self.target.requests_kwargs())
        except requests.RequestException as exc:
            raise ClusterUnreachable(f"Cannot reach the cluster at {self.target.url}: {exc.__class__.__name__}.") \
                from None
        if resp.status_code in (502, 503, 504):
            raise ClusterUnreachable(f"The cluster at {self.target.url} is not ready (HTTP {resp.status_code}).")
        if resp.status_code in (401, 403):
            raise IntpkgError(
                f"The cluster at {self.target.url} refused the credentials (HTTP {resp.status_code}). "
                "Check the API key or user name/password (INTPKG_ES_API_KEY, INTPKG_ES_USERNAME/PASSWORD)."
            )
        if resp.status_code != 200:
            raise IntpkgError(f"The cluster at {self.target.url} answered HTTP {resp.status_code} on GET /.")
        return resp.json()

    def _make_client(self) -> Any:
        t = self.target
        common: dict[str, Any] = {"request_timeout": self.request_timeout}
        if t.url.startswith("https"):
            common["verify_certs"] = t.verify_certs
            if t.ca_cert:
                common["ca_certs"] = t.ca_cert
        if self.flavor == "opensearch":
            from opensearchpy import OpenSearch

            # room for the collector's concurrent bulk requests (urllib3 would discard extra connections)
            kwargs: dict[str, Any] = {"hosts": [t.url], "timeout": self.request_timeout, "pool_maxsize": POOL_SIZE,
                                      "serializer": jsoncodec.opensearch_serializer()}
            if t.url.startswith("https"):
                kwargs.update(use_ssl=True, verify_certs=t.verify_certs, ca_certs=t.ca_cert)
            if t.username:
                kwargs["http_auth"] = (t.username, t.password or "")
            if t.api_key:
                kwargs["headers"] = {"Authorization": f"ApiKey {t.api_key}"}
            return OpenSearch(**kwargs)
        from elasticsearch import Elasticsearch

        if t.api_key:
            common["api_key"] = t.api_key
        elif t.username:
            common["basic_auth"] = (t.username, t.password or "")
        return Elasticsearch(t.url, serializer=jsoncodec.elasticsearch_serializer(), **common)

    @property
    def native(self) -> Any:
        """The underlying `Elasticsearch` or `OpenSearch` client object."""
        return self._client

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: dict[str, Any] | None = None,
        ignore: Iterable[int] = (),
    ) -> Any:
        """Perform one REST call and return the decoded JSON body (None for HEAD/empty).

        Statuses in `ignore` return the error body instead of raising.
        """
        ignore = set(ignore)
        if self.flavor == "opensearch":
            from opensearchpy.exceptions import TransportError as OSError_

            try:
                return self._client.transport.perform_request(method, path, params=params or {}, body=body)
            except OSError_ as exc:
                if isinstance(exc.status_code, int) and exc.status_code in ignore:
                    return exc.info
                raise _api_error(method, path, exc.status_code, exc.info) from None
        from elasticsearch import ApiError

        headers = {"accept": "application/json"}
        if body is not None:
            headers["content-type"] = "application/json"
        query = urlencode({k: _param(v) for k, v in (params or {}).items()})
        full = path + ("?" + query if query else "")
        try:
            resp = self._client.perform_request(method, full, headers=headers, body=body)
        except ApiError as exc:
            if exc.meta.status in ignore:
                return exc.body
            raise _api_error(method, path, exc.meta.status, exc.body) from None
        return resp.body

    def streaming_bulk(self, actions: Iterable[dict[str, Any]], **kwargs: Any) -> Iterator[tuple[bool, dict]]:
        """The product's `helpers.streaming_bulk` (same signature in both clients)."""
        if self.flavor == "opensearch":
            from opensearchpy import helpers
        else:
            from elasticsearch import helpers
        return helpers.streaming_bulk(self._client, actions, **kwargs)

    def bulk_create(self, documents: Sequence[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
        """Create each (index, document) in one bulk request; each one's outcome in order: `{"status"}`,
        with `"error"` when refused. A request the cluster refuses whole gives every document its status.

        Raises on a connection failure or timeout (no answer: nothing is known to be stored).
        """
        return self.send_bulk(bulk_create_body(documents), len(documents))

    def send_bulk(self, body: bytes, count: int) -> list[dict[str, Any]]:
        """`bulk_create` for a body built beforehand (`bulk_create_body`) holding `count` documents."""
        try:
            if self.flavor == "opensearch":
                answer = self._client.bulk(body=body, params={"filter_path": BULK_FILTER_PATH})
            else:
                answer = self._client.bulk(operations=body, filter_path=BULK_FILTER_PATH).body
        except Exception as exc:
            status = _answered_status(exc)
            if status is None:
                raise
            error = getattr(exc, "info", None) or getattr(exc, "body", None) or str(exc)
            return [{"status": status, "error": error} for _ in range(count)]
        items = [next(iter(item.values()), {}) for item in answer.get("items") or []]
        if len(items) != count:
            raise ApiCallError(f"POST /_bulk answered {len(items)} items for {count} documents", None, answer)
        return items

    def health(self, wait_for_status: str | None = None, timeout: str = "30s") -> dict[str, Any]:
        params: dict[str, Any] = {}
        if wait_for_status:
            params = {"wait_for_status": wait_for_status, "timeout": timeout}
        return self.request("GET", "/_cluster/health", params=params, ignore=(408,))

    def ingest_processors(self) -> set[str]:
        """Processor types every ingest node of the cluster offers."""
        nodes = self.request("GET", "/_nodes/ingest", params={"filter_path": "nodes.*.ingest.processors"})
        sets = [{p["type"] for p in n["ingest"]["processors"]} for n in nodes.get("nodes", {}).values()]
        return set.intersection(*sets) if sets else set()


def is_stored(result: dict[str, Any]) -> bool:
    """Whether a `bulk_create` outcome means the document is in the cluster: created, or already there
    (409: a document with the same deterministic `_id`)."""
    status = result.get("status")
    return isinstance(status, int) and (200 <= status < 300 or status == 409)


def bulk_create_body(documents: Sequence[tuple[str, dict[str, Any]]]) -> bytes:
    """The NDJSON body of a bulk request creating each (index, document)."""
    actions: dict[str, bytes] = {}
    parts = []
    for index, doc in documents:
        action = actions.get(index)
        if action is None:
            action = actions[index] = jsoncodec.dumpb({"create": {"_index": index}}) + b"\n"
        parts += (action, jsoncodec.dumpb(doc), b"\n")
    return b"".join(parts)


class ClusterUnreachable(IntpkgError):
    """The cluster did not answer (or answered that it is not ready); worth waiting for."""


class ApiCallError(IntpkgError):
    """A REST call the cluster answered with an error status."""

    def __init__(self, message: str, status: int | None, body: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


def _answered_status(exc: Exception) -> int | None:
    """The HTTP status of a client exception the cluster answered; None for connection errors and timeouts."""
    status = getattr(getattr(exc, "meta", None), "status", None)  # elasticsearch: ApiError.meta.status
    if not isinstance(status, int):
        status = getattr(exc, "status_code", None)  # opensearch-py: "N/A" when nothing answered
    # an error with a success status (the elasticsearch client's UnsupportedProductError) is no answer
    return status if isinstance(status, int) and status >= 400 else None


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _api_error(method: str, path: str, status: Any, body: Any) -> ApiCallError:
    reason = body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        reason = body["error"].get("reason") or body["error"]
    return ApiCallError(f"{method} {path} failed with HTTP {status}: {reason}", status, body)
