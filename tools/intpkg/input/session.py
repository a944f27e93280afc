"""The HTTP session for requests that carry credentials: they never follow a redirect to another host.

requests drops only `Authorization` when a redirect leaves the host; Cloudflare's global API key
travels in `X-Auth-Key` and `X-Auth-Email`, which it would forward. The headers dropped are
`intpkg.redact.SENSITIVE_HEADERS`, the list every log and trace masks. Every request intpkg sends with a
credential (the collector's input, `verify-credentials`) goes through `CredentialSafeSession`.
"""

from __future__ import annotations

import requests

from intpkg import redact


class CredentialSafeSession(requests.Session):
    """A `requests.Session` that strips every credential header on a redirect to another host.

    `forward_headers`/`headers_ban_list` are httpjson's `request.redirect.*` options: with
    `forward_headers` the other headers follow the redirect except the banned ones.
    """

    def __init__(self, *, forward_headers: bool = False, headers_ban_list: list[str] | None = None) -> None:
        super().__init__()
        self.trust_env = False  # no ~/.netrc credentials or proxy variables slipped into requests
        self.forward_headers = forward_headers
        self.headers_ban_list = list(headers_ban_list or [])

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: requests.Response) -> None:
        if self.forward_headers:
            for name in self.headers_ban_list:
                prepared_request.headers.pop(name, None)
        if self.should_strip_auth(response.request.url, prepared_request.url):
            for name in redact.SENSITIVE_HEADERS:
                prepared_request.headers.pop(name, None)
