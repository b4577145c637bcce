"""The one HTTP session of the project: polite, cached, rate-limited, and able to work offline.

Every request to Wikidata or ORCID goes through :class:`HttpClient`: a descriptive User-Agent
(Wikimedia's policy asks for one with contact details), a timeout, retries with exponential
backoff on 429/502/503/504 that honour ``Retry-After``, at most ``rate`` requests per second,
and an on-disk cache of successful JSON answers keyed by method, URL and parameters. In offline
mode only the cache answers; a miss is an error, never a request.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests

from collectomics import __version__
from collectomics.errors import CollectomicsError

USER_AGENT = (
    f"Collectomics/{__version__} (https://w3id.org/collectomics/; linking museum collectors "
    "to Wikidata and ORCID) python-requests"
)
RETRY_STATUSES = frozenset({429, 502, 503, 504})


class ServiceError(CollectomicsError):
    """A remote service failed, refused, or (offline) has no cached answer; carries its URL."""


class HttpClient:
    """GET/POST JSON with caching, retries and a rate limit; ``offline`` answers from the cache."""

    def __init__(
        self,
        *,
        cache_dir: str | Path | None = None,
        offline: bool = False,
        rate: float = 5.0,
        timeout: float = 20.0,
        retries: int = 4,
        backoff: float = 1.0,
        max_wait: float = 60.0,
        user_agent: str = USER_AGENT,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.offline = offline
        self.min_interval = 1.0 / rate if rate > 0 else 0.0
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.sleep = sleep
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": user_agent, "Accept": "application/json"})
        self._lock = threading.Lock()
        self._last = 0.0
        self.requests_made = 0
        self.cache_hits = 0

    # -- the cache -------------------------------------------------------------------------

    def _key(self, method: str, url: str, params: Mapping[str, Any] | None) -> str:
        text = method + " " + url + "?" + urlencode(sorted((params or {}).items()), doseq=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def _cache_path(self, key: str) -> Path | None:
        return self.cache_dir / key[:2] / f"{key}.json" if self.cache_dir else None

    def _cached(self, key: str) -> Any:
        path = self._cache_path(key)
        if path is None or not path.is_file():
            return None
        try:
            return json.loads(path.read_text("utf-8"))["body"]
        except (OSError, ValueError, KeyError):
            return None

    def _store(self, key: str, url: str, body: Any) -> None:
        path = self._cache_path(key)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"url": url, "body": body}, ensure_ascii=False), "utf-8")
        tmp.replace(path)

    # -- requests --------------------------------------------------------------------------

    def _throttle(self) -> None:
        with self._lock:
            wait = self._last + self.min_interval - time.monotonic()
            if wait > 0:
                self.sleep(wait)
            self._last = time.monotonic()

    def _retry_after(self, response: requests.Response, attempt: int) -> float:
        header = response.headers.get("Retry-After")
        if header:
            try:
                return min(float(header), self.max_wait)
            except ValueError:
                try:
                    moment = parsedate_to_datetime(header).timestamp()
                    return min(max(moment - time.time(), 0.0), self.max_wait)
                except (TypeError, ValueError):
                    pass
        return min(self.backoff * 2**attempt, self.max_wait)

    def get_json(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        method: str = "GET",
        service: str = "",
    ) -> Any:
        """The JSON answer to a request, from the cache when there is one."""
        key = self._key(method, url, params)
        cached = self._cached(key)
        if cached is not None:
            self.cache_hits += 1
            return cached
        if self.offline:
            raise ServiceError(
                "offline and no cached answer for this request", service=service, url=url
            )
        for attempt in range(self.retries + 1):
            self._throttle()
            try:
                self.requests_made += 1
                if method == "POST":
                    response = self.session.post(
                        url, data=params, headers=headers, timeout=self.timeout
                    )
                else:
                    response = self.session.get(
                        url, params=params, headers=headers, timeout=self.timeout
                    )
            except requests.RequestException as exc:
                if attempt < self.retries:
                    self.sleep(min(self.backoff * 2**attempt, self.max_wait))
                    continue
                raise ServiceError(
                    f"cannot reach the service: {exc}", service=service, url=url
                ) from None
            if response.status_code in RETRY_STATUSES and attempt < self.retries:
                self.sleep(self._retry_after(response, attempt))
                continue
            if response.status_code == 404:
                return None
            if response.status_code >= 400:
                raise ServiceError(
                    f"the service answered {response.status_code}",
                    service=service,
                    url=response.url,
                    status=response.status_code,
                )
            try:
                body = response.json()
            except ValueError:
                raise ServiceError(
                    "the service did not answer JSON", service=service, url=response.url
                ) from None
            self._store(key, url, body)
            return body
        raise ServiceError("gave up after retries", service=service, url=url)  # pragma: no cover

    def close(self) -> None:
        self.session.close()
