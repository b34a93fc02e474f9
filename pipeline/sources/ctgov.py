"""ClinicalTrials.gov API v2 over `requests`, with the policy a long unattended run needs.

Everything the client does to be a polite and careful caller is in `CtgovPolicy`, in plain
sight: the base URL (CTGOV_BASE_URL), about one request per second, a timeout on every
request, retries with exponential backoff that honour `Retry-After` on 429 and 5xx, and a
validator for every answer (status 200 alone is not trusted: a truncated or malformed JSON body
is retried, then reported as failed, never half-used). A 404 for one study means "not in the
registry" and is reported as such, not retried.

Two calls are used: `GET studies/{nctId}` for one study document, and `GET studies` with
`query.cond` / `query.intr` / `filter.ids` / `filter.advanced` and `pageToken` paging. Paging
stops on a page without `nextPageToken` and also on a page whose `studies` list is empty (the
API hands out a token when a page is exactly full).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests

from pipeline import __version__, config
from pipeline.errors import PipelineError, SourceUnavailableError
from pipeline.sources.retrying import (
    GaveUp,
    Invalid,
    InvalidAnswerError,
    RateLimiter,
    raise_for_retryable_status,
    receive,
    validated,
    with_retries,
)

log = logging.getLogger(__name__)

USER_AGENT = f"ketamine-evidence-pipeline/{__version__}"
# The fields a listing asks for: enough to tell a new or changed study from a stored one.
LISTING_FIELDS = ("NCTId", "LastUpdatePostDate")
NCT_ID_LENGTH = 11  # "NCT" and eight digits


@dataclass(frozen=True)
class CtgovPolicy:
    """How the client talks to ClinicalTrials.gov: every number an unattended run depends on."""

    base_url: str = field(default_factory=config.ctgov_base_url)
    request_interval: float = 1.0  # seconds between requests: about 1 request/s
    timeout: float = 30.0  # seconds to connect, and for each read
    retry_delays: tuple[float, ...] = (2.0, 4.0, 8.0, 16.0, 32.0)  # one retry per delay
    max_retry_after: float = 600.0  # a longer Retry-After is capped to this
    page_size: int = 100  # studies per listing page (the API allows up to 1,000)
    ids_per_listing: int = 100  # NCT ids per filter.ids listing (keeps URLs short)

    @property
    def attempts(self) -> int:
        """Tries per request: the first one and one per retry delay."""
        return len(self.retry_delays) + 1


# --- failures -----------------------------------------------------------------------------------


class CtgovError(PipelineError):
    """ClinicalTrials.gov answered, but not with something usable (a 4xx other than 429)."""


class InvalidDocumentError(CtgovError, InvalidAnswerError):
    """An answer that stayed invalid (truncated, not JSON, not a study) after every retry."""


class NotInRegistryError(CtgovError):
    """`GET studies/{nctId}` answered 404: the registry has no such study."""

    def __init__(self, nct_id: str, url: str) -> None:
        super().__init__(f"{nct_id} is not in the registry (HTTP 404 from {url})")
        self.nct_id = nct_id
        self.url = url


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FetchedStudy:
    """One study document exactly as received, with where and when it came from."""

    nct_id: str
    url: str  # without credentials
    body: bytes
    document: dict
    retrieved_at: datetime
    source: str = "live"  # 'live' | 'snapshot'

    @property
    def checksum(self) -> str:
        """SHA-256 of the body as received."""
        return hashlib.sha256(self.body).hexdigest()


@dataclass(frozen=True)
class Listed:
    """A study as a listing shows it: its NCT id and last-update-post date (as posted)."""

    nct_id: str
    last_update_post_date: str | None


def public_url(url: str) -> str:
    """The URL without user name or password (the API takes no key; a proxy might)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def study_nct_id(document: dict) -> str | None:
    """protocolSection.identificationModule.nctId, when the document has it."""
    protocol = document.get("protocolSection")
    if not isinstance(protocol, dict):
        return None
    ident = protocol.get("identificationModule")
    nct_id = ident.get("nctId") if isinstance(ident, dict) else None
    return nct_id if isinstance(nct_id, str) else None


def last_update_post_date(document: dict) -> str | None:
    """protocolSection.statusModule.lastUpdatePostDateStruct.date, as posted."""
    status = (document.get("protocolSection") or {}).get("statusModule")
    if not isinstance(status, dict):
        return None
    struct = status.get("lastUpdatePostDateStruct")
    date = struct.get("date") if isinstance(struct, dict) else None
    return date if isinstance(date, str) else None


def _decode_json(body: bytes) -> object:
    """The body as JSON; a truncated or malformed body is an Invalid attempt."""
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise Invalid(f"the body is not UTF-8 ({error.reason} at byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise Invalid(
            f"the body is not complete JSON ({error.msg} at byte {error.pos} of {len(body)})"
        ) from None


def validate_study(nct_id: str) -> Callable[[bytes], dict]:
    """A validator for `GET studies/{nct_id}`: a JSON object about that study."""

    def validate(body: bytes) -> dict:
        document = _decode_json(body)
        if not isinstance(document, dict):
            raise Invalid(f"the answer for {nct_id} is JSON but not a study object")
        if not any(k in document for k in ("protocolSection", "resultsSection", "hasResults")):
            raise Invalid(f"the answer for {nct_id} has no protocolSection, results or hasResults")
        found = study_nct_id(document)
        if found is not None and found != nct_id:
            raise Invalid(f"asked for {nct_id}, the answer is about {found}")
        return document

    return validate


def validate_listing(body: bytes) -> dict:
    """A validator for `GET studies`: an object with a `studies` list, each with an NCT id."""
    page = _decode_json(body)
    if not isinstance(page, dict) or not isinstance(page.get("studies"), list):
        raise Invalid("a listing page without a 'studies' list")
    token = page.get("nextPageToken")
    if token is not None and not isinstance(token, str):
        raise Invalid("a listing page whose nextPageToken is not text")
    for position, study in enumerate(page["studies"]):
        if not isinstance(study, dict) or study_nct_id(study) is None:
            raise Invalid(f"study {position} of a listing page has no NCT id")
    return page


# --- the client ---------------------------------------------------------------------------------


class CtgovClient:
    """`GET studies/{nctId}` and paged `GET studies` under a CtgovPolicy."""

    def __init__(
        self,
        policy: CtgovPolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        on_study: Callable[[FetchedStudy], object] | None = None,
    ) -> None:
        self.policy = policy or CtgovPolicy()
        self._sleep = sleep
        self._limiter = RateLimiter(self.policy.request_interval, clock=clock, sleep=sleep)
        self._session = requests.Session()
        self._session.headers["User-Agent"] = USER_AGENT
        self._session.headers["Accept"] = "application/json"
        self.on_study = on_study  # called with every valid study document (recording)
        self.requests_sent = 0

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()

    def __enter__(self) -> CtgovClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def url(self, path: str, params: dict[str, str] | None = None) -> str:
        """The full URL of `path` under the base URL, with its query string."""
        query = urlencode(params or {}, safe=",|[]:")
        return self.policy.base_url + path + (f"?{query}" if query else "")

    def _attempt(self, url: str) -> tuple[int, bytes, requests.Response]:
        """One request, rate-limited, with a timeout, the whole body read."""
        self._limiter.wait()
        self.requests_sent += 1
        response, body = receive(
            lambda: self._session.get(url, timeout=self.policy.timeout), self.policy.timeout
        )
        raise_for_retryable_status(response, body)
        return response.status_code, body, response

    def _get(self, url: str, what: str, validate: Callable[[bytes], dict]) -> tuple[bytes, dict]:
        """GET with retries; returns the body and what `validate` made of it.

        404 raises NotInRegistryError (the caller knows which study), other 4xx CtgovError;
        when the retries run out an invalid body raises InvalidDocumentError and network or
        HTTP failures SourceUnavailableError.
        """

        def attempt(_: int) -> tuple[bytes, dict]:
            status, body, response = self._attempt(url)
            if status == 404:
                raise NotInRegistryError(what, public_url(url))
            if status != 200:
                raise CtgovError(
                    f"{what} was refused with HTTP {status} {response.reason} by "
                    f"{public_url(url)}: {body[:200].decode('utf-8', 'replace')}"
                )
            return validated(body, validate)

        try:
            return with_retries(
                attempt, what=what, policy=self.policy, sleep=self._sleep, log=log,
                invalid=InvalidDocumentError,
            )  # fmt: skip
        except GaveUp as gave_up:
            raise SourceUnavailableError(
                f"ClinicalTrials.gov {gave_up.how} at {public_url(self.policy.base_url)} ({what}: "
                f"{gave_up.last.reason}, {gave_up.tries})"
            ) from None

    def study(self, nct_id: str) -> FetchedStudy:
        """One study document (`GET studies/{nctId}`), validated; 404 is NotInRegistryError."""
        if len(nct_id) != NCT_ID_LENGTH or not nct_id.startswith("NCT") or not nct_id[3:].isdigit():
            raise CtgovError(f"not an NCT number: {nct_id!r}")
        url = self.url(f"studies/{nct_id}")
        body, document = self._get(url, nct_id, validate_study(nct_id))
        fetched = FetchedStudy(nct_id, public_url(url), body, document, _utcnow())
        if self.on_study is not None:
            self.on_study(fetched)
        return fetched

    def pages(self, params: dict[str, str]) -> Iterator[dict]:
        """Every page of `GET studies` with `params`, following nextPageToken.

        Stops on a page without nextPageToken and on a page with no studies (the API gives a
        token when a page is exactly full; the page after it is empty).
        """
        token: str | None = None
        seen_tokens: set[str] = set()
        while True:
            query = {**params, "pageSize": str(self.policy.page_size)}
            if token:
                query["pageToken"] = token
            _, page = self._get(self.url("studies", query), "a study listing", validate_listing)
            if not page["studies"]:
                return
            yield page
            token = page.get("nextPageToken")
            if not token:
                return
            if token in seen_tokens:
                raise CtgovError(f"the study listing handed out the page token {token!r} twice")
            seen_tokens.add(token)

    def listing(self, params: dict[str, str]) -> list[Listed]:
        """NCT id and last-update-post date of every study `GET studies` lists for `params`."""
        found: dict[str, Listed] = {}
        query = {**params, "fields": ",".join(LISTING_FIELDS)}
        for page in self.pages(query):
            for study in page["studies"]:
                nct_id = study_nct_id(study)
                found[nct_id] = Listed(nct_id, last_update_post_date(study))
        return list(found.values())

    def search(
        self, condition: str, intervention: str, *, since: str | None = None
    ) -> list[Listed]:
        """Studies matching `query.cond` and `query.intr` (optionally updated since a date)."""
        params = {"query.cond": condition, "query.intr": intervention}
        if since:
            params["filter.advanced"] = updated_since(since)
        return self.listing(params)

    def list_ids(self, nct_ids: list[str], *, since: str | None = None) -> list[Listed]:
        """Which of `nct_ids` the registry has (updated since `since`, when given)."""
        found: list[Listed] = []
        step = self.policy.ids_per_listing
        for start in range(0, len(nct_ids), step):
            params = {"filter.ids": "|".join(nct_ids[start : start + step])}
            if since:
                params["filter.advanced"] = updated_since(since)
            found.extend(self.listing(params))
        return found


def updated_since(date: str) -> str:
    """The filter.advanced expression for "last update posted on or after `date`"."""
    return f"AREA[LastUpdatePostDate]RANGE[{date},MAX]"


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
