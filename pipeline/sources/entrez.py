"""Live PubMed through Biopython's Entrez, with the policy a long unattended run needs.

Bio.Entrez builds every E-utilities request (esearch with the history server, efetch by
WebEnv/query_key/retstart/retmax or by id list, email, tool, api_key, GET or POST) and stays
the interface used here. What Entrez 1.88 lacks, this module adds, in plain sight in
`EntrezPolicy`:

- a base URL: Entrez hard-codes https://eutils.ncbi.nlm.nih.gov/entrez/eutils/ in each
  function and has no setting for it, nor for a timeout (its `_open` calls urllib's
  `urlopen(request)` with none). Each Entrez function builds its request with
  `_build_request` and hands it to the module-level `_open`, which it looks up when it runs;
  so while any client call is under way, `Bio.Entrez._open` is a dispatcher that sends each
  request with the transport of the calling thread, and the original comes back when the last
  call ends (see `_entrez_transport`). Calls from several threads therefore run at the same
  time, each with its own transport. The transport rewrites the URL to EUTILS_BASE_URL, waits
  for its start time (requests start at most 3/s, 10/s with an API key, across threads, and
  may be in flight together), sends with a timeout, and reads the whole body, so an error
  while reading a body is caught and retried;
- retries: Entrez's `_open` retries HTTP 429/5xx and network errors immediately, and spaces
  requests with a process-wide timer that is not safe across threads (0.37 s, 0.1 s with a
  key). Neither runs, since our transport takes `_open`'s place; retries happen here instead
  (`pipeline.sources.retrying`), with exponential backoff that honours Retry-After on 429
  and 5xx;
- a validator per endpoint: an esearch answer must be an eSearchResult without an ERROR, an
  efetch answer a complete PubmedArticleSet; status 200 alone is not trusted;
- an efetch batch that stays truncated or unparsable is split in halves until the bad record
  is isolated, and that record is quarantined with its error and raw bytes;
- esearch cannot page past 9,999 ids: such a search is split by date ranges;
- failed responses are dumped for inspection (EntrezPolicy.dump_dir); the API key is
  redacted (`pipeline.redaction.redact`) from every reason, message, log line, dump and
  quarantined body that comes out of a failed exchange, whatever the failure.

The client is safe to share between threads (the live ingest fetches a few batches ahead in
threads): the rate limiter, the HTTP session's connection pool and the `on_esearch` and
`on_efetch` callbacks (called one at a time, under a lock) are shared.
"""

from __future__ import annotations

import email.message
import io
import logging
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from urllib.request import Request
from urllib.response import addinfourl

import requests
from Bio import Entrez

from pipeline import __version__, config
from pipeline.errors import PipelineError, SourceUnavailableError
from pipeline.models import Quarantined
from pipeline.parse import (
    FollowUp,
    NotArticleSetError,
    ParsedRecord,
    TruncatedXMLError,
    iter_record_bytes,
    parse_pubmed_xml,
)
from pipeline.redaction import redact, redact_bytes
from pipeline.sources.retrying import (
    GaveUp,
    Invalid,
    InvalidAnswerError,
    RateLimiter,
    Retryable,
    raise_for_retryable_status,
    receive,
    validated,
    with_retries,
)

log = logging.getLogger(__name__)

TOOL_NAME = "ketamine-evidence-pipeline"
# What Bio.Entrez 1.88 writes into every request URL; replaced by EntrezPolicy.base_url.
ENTREZ_BUILTIN_BASE_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
# esearch returns ids up to position 9,999 (retstart + retmax <= 10,000 in practice).
ESEARCH_MAX_IDS = 9999
# Searches without dates that must be split start here (PubMed's oldest records are 1781).
EARLIEST_DATE = date(1781, 1, 1)
EUTILS_DATE = "%Y/%m/%d"


@dataclass(frozen=True)
class EntrezPolicy:
    """How the client talks to E-utilities: every number an unattended run depends on."""

    email: str
    api_key: str | None = field(default=None, repr=False)  # a secret: never in a repr
    tool: str = TOOL_NAME
    base_url: str = field(default_factory=config.eutils_base_url)
    timeout: float = 60.0  # seconds to connect, and for each read
    retry_delays: tuple[float, ...] = (2.0, 4.0, 8.0, 16.0, 32.0)  # one retry per delay
    max_retry_after: float = 600.0  # a longer Retry-After is capped to this
    request_interval: float | None = None  # None: 1/3 s, or 1/10 s with an API key
    search_page_size: int = ESEARCH_MAX_IDS
    max_search_ids: int = ESEARCH_MAX_IDS
    dump_dir: Path | None = None  # failed responses are written here when set

    @property
    def interval(self) -> float:
        """Seconds between two requests: NCBI allows 3/s, or 10/s with an API key."""
        if self.request_interval is not None:
            return self.request_interval
        return 0.1 if self.api_key else 1 / 3

    @property
    def attempts(self) -> int:
        return len(self.retry_delays) + 1

    @classmethod
    def from_environment(cls, **overrides) -> EntrezPolicy:
        """The policy from NCBI_EMAIL, NCBI_API_KEY, EUTILS_BASE_URL, and optionally
        EUTILS_TIMEOUT (seconds) and EUTILS_RETRY_DELAYS (comma-separated seconds)."""
        email = config.ncbi_email()
        if not email:
            raise PipelineError(
                "live PubMed needs NCBI_EMAIL: NCBI asks every E-utilities client for a contact "
                "address (export NCBI_EMAIL=you@example.org)"
            )
        settings: dict = {"email": email, "api_key": config.ncbi_api_key()}
        timeout = config.eutils_timeout()
        if timeout is not None:
            settings["timeout"] = timeout
        delays = config.eutils_retry_delays()
        if delays is not None:
            settings["retry_delays"] = delays
        return cls(**{**settings, **overrides})


# --- failures ---------------------------------------------------------------------------------


class EutilsError(PipelineError):
    """E-utilities answered, but not with something usable (a 4xx, an ERROR element)."""


class InvalidResponseError(EutilsError, InvalidAnswerError):
    """A response that stayed invalid (truncated, not the expected XML) after every retry."""


class _Refused(Exception):
    """A 4xx other than 429: retrying will not help."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


# --- pieces of policy -------------------------------------------------------------------------


class _EntrezHook:
    """While client calls run, Bio.Entrez's `_open` sends each request with the transport of
    the calling thread; Entrez's own `_open` is put back when the last call ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls = 0
        self._original: Callable | None = None
        self._transport = threading.local()

    def _open(self, request: Request) -> addinfourl:
        send = getattr(self._transport, "send", None)
        if send is None:  # a thread outside our client: Entrez as it comes
            return self._original(request)
        return send(request)

    @contextmanager
    def routed(self, send: Callable[[Request], addinfourl]) -> Iterator[None]:
        with self._lock:
            if self._calls == 0:
                self._original = Entrez._open
                Entrez._open = self._open
            self._calls += 1
        self._transport.send = send
        try:
            yield
        finally:
            self._transport.send = None
            with self._lock:
                self._calls -= 1
                if self._calls == 0:
                    Entrez._open = self._original


_ENTREZ_HOOK = _EntrezHook()


def _entrez_transport(send: Callable[[Request], addinfourl]):
    """Route this thread's Bio.Entrez requests through `send` for one call.

    Entrez 1.88 offers no supported setting for the base URL or a timeout (see the module
    docstring); each Entrez function looks up the module-level `_open` when it runs, so that
    is the narrowest hook. The transport is per thread, so concurrent calls never see each
    other's, and `finally` keeps the hook from outliving the last call.
    """
    return _ENTREZ_HOOK.routed(send)


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchPage:
    """One esearch response."""

    count: int
    pmids: list[str]
    webenv: str | None
    query_key: str | None
    body: bytes


@dataclass(frozen=True)
class SearchSegment:
    """The ids of one date range of a search (the whole search when it needs no split), with
    the history-server handle that efetch can page through."""

    pmids: tuple[str, ...]
    webenv: str | None
    query_key: str | None
    mindate: date | None = None
    maxdate: date | None = None


@dataclass(frozen=True)
class SearchResult:
    """Every PMID a search found, in PubMed's order, and the segments they came in."""

    term: str
    pmids: tuple[str, ...]
    segments: tuple[SearchSegment, ...]


@dataclass(frozen=True)
class FetchRequest:
    """A batch to fetch: by history position (WebEnv, query_key, retstart) when the PMIDs
    are a contiguous stretch of a search, else by id list."""

    pmids: tuple[str, ...]
    webenv: str | None = None
    query_key: str | None = None
    retstart: int | None = None

    @property
    def from_history(self) -> bool:
        return self.webenv is not None and self.query_key is not None and self.retstart is not None

    def by_ids(self) -> FetchRequest:
        return FetchRequest(self.pmids)

    def halves(self) -> tuple[FetchRequest, FetchRequest]:
        middle = len(self.pmids) // 2
        first, second = self.pmids[:middle], self.pmids[middle:]
        if not self.from_history:
            return FetchRequest(first), FetchRequest(second)
        return (
            replace(self, pmids=first),
            replace(self, pmids=second, retstart=self.retstart + middle),
        )

    def describe(self) -> str:
        span = self.pmids[0] if len(self.pmids) == 1 else f"{self.pmids[0]}..{self.pmids[-1]}"
        how = f"retstart {self.retstart}" if self.from_history else "by id"
        return f"efetch of {len(self.pmids)} PMIDs ({span}, {how})"


@dataclass
class FetchResult:
    """What a batch fetch produced: parsed records and quarantined ones (nothing dropped)."""

    records: list[ParsedRecord] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    requests: int = 0

    def extend(self, other: FetchResult) -> None:
        self.records.extend(other.records)
        self.quarantined.extend(other.quarantined)
        self.requests += other.requests


# --- the client -------------------------------------------------------------------------------


class PrefetchDropped(Exception):
    """A prefetched request whose run ended before its turn came: it is not sent."""


class EntrezClient:
    """esearch and efetch for PubMed through Bio.Entrez, under an EntrezPolicy."""

    def __init__(
        self,
        policy: EntrezPolicy,
        *,
        sleep: Callable[[float], None] = time.sleep,
        on_esearch: Callable[[bytes, str], object] | None = None,
        on_efetch: Callable[[bytes, str], object] | None = None,
    ) -> None:
        self.policy = policy
        self._sleep = sleep
        self._limiter = RateLimiter(policy.interval, sleep=sleep)
        self._session = requests.Session()
        self._session.headers["User-Agent"] = f"{policy.tool}/{__version__}"
        self.on_esearch = on_esearch  # called with every valid esearch body (snapshot recording)
        self.on_efetch = on_efetch  # called with every valid efetch body
        self._callback_lock = threading.Lock()  # callbacks run one at a time, whatever thread
        self._prefetched: dict[FetchRequest, tuple[Future, threading.Thread, threading.Event]] = {}
        self._prefetch_lock = threading.Lock()
        self._last_started: threading.Event | None = None  # set once the last prefetch sent
        # .started: set by _send once this thread's turn came; .dropped: set when its prefetch
        # was dropped (the run ended), so a request still waiting for its turn is never sent.
        self._thread = threading.local()

    def close(self) -> None:
        self.drop_prefetched(wait=False)
        self._session.close()

    # -- fetching ahead ------------------------------------------------------------------------

    def prefetch(
        self,
        request: FetchRequest,
        *,
        pool: Executor | None = None,
        follow_up: FollowUp | None = None,
    ) -> None:
        """Start fetching `request` in a background thread, as `fetch(request, pool=pool,
        follow_up=follow_up)` would (parsed in the `pool`'s worker processes when given); the
        next `fetch(request)` takes its result, or raises its error. Prefetches send their first
        request in the order they were asked for (each waits until the one before has started),
        so batches come in plan order; the rate limit spaces them as it spaces every request.

        The threads are daemons: Ctrl-C does not wait for a request in flight."""
        with self._prefetch_lock:
            if request in self._prefetched:
                return
            future: Future = Future()
            before, started, dropped = self._last_started, threading.Event(), threading.Event()
            self._last_started = started

            def run() -> None:
                if before is not None:
                    before.wait()
                self._thread.started = started
                self._thread.dropped = dropped
                try:
                    if future.set_running_or_notify_cancel():
                        future.set_result(self._fetch(request, pool, follow_up))
                except BaseException as error:  # handed to the thread that takes the answer
                    future.set_exception(error)
                finally:
                    started.set()

            thread = threading.Thread(target=run, name=f"efetch {request.describe()}", daemon=True)
            self._prefetched[request] = (future, thread, dropped)
        thread.start()

    def drop_prefetched(self, *, wait: bool) -> None:
        """Forget prefetched answers nobody took; with `wait`, first let the requests still in
        flight end, so that none outlives the call."""
        with self._prefetch_lock:
            pending = list(self._prefetched.values())
            self._prefetched.clear()
            self._last_started = None
        for future, thread, dropped in pending:
            dropped.set()  # one still waiting for its turn, or for a retry, never sends
            future.cancel()
            if wait:
                thread.join()

    # -- one HTTP exchange ---------------------------------------------------------------------

    def _redact(self, text: str) -> str:
        return redact(text, [self.policy.api_key])

    def _redirect(self, url: str) -> str:
        if not url.startswith(ENTREZ_BUILTIN_BASE_URL):
            raise EutilsError(f"unexpected E-utilities URL from Bio.Entrez: {self._redact(url)}")
        return self.policy.base_url + url[len(ENTREZ_BUILTIN_BASE_URL) :]

    def _send(self, request: Request, captured: dict) -> addinfourl:
        """The transport Entrez calls instead of urlopen: one attempt, body read in full."""
        url = self._redirect(request.full_url)
        method = request.get_method()
        headers = {}
        if request.data is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        captured.update(method=method, url=url, data=request.data)
        self._limiter.wait()
        started = getattr(self._thread, "started", None)
        if started is not None:  # a prefetch: the next one may take its turn
            started.set()
        dropped = getattr(self._thread, "dropped", None)
        if dropped is not None and dropped.is_set():
            raise PrefetchDropped(f"not sent: the run that asked for it ended ({url})")
        response, body = receive(
            lambda: self._session.request(
                method, url, data=request.data, headers=headers, timeout=self.policy.timeout
            ),
            self.policy.timeout,
            self._redact,  # the error's text quotes the URL, key and all
        )
        captured.update(status=response.status_code, headers=dict(response.headers), body=body)
        raise_for_retryable_status(response, body)
        status = response.status_code
        if status != 200:
            raise _Refused(status, body)
        message = email.message.Message()
        message["Content-Type"] = response.headers.get("Content-Type", "text/xml")
        captured["body"] = body
        return addinfourl(io.BytesIO(body), message, url, status)

    def _call(
        self, endpoint: str, entrez_function: Callable, params: dict, validate: Callable
    ) -> tuple[bytes, object]:
        """One E-utilities call with retries; returns the body and what `validate` made of it.

        Network errors, 429 and 5xx, and invalid bodies are retried with backoff; when the
        retries run out, network and HTTP failures raise SourceUnavailableError and invalid
        bodies InvalidResponseError.
        """
        params = {
            **params,
            "email": self.policy.email,
            "tool": self.policy.tool,
            "api_key": self.policy.api_key,
        }

        def attempt(number: int) -> tuple[bytes, object]:
            captured: dict = {}
            try:
                with _entrez_transport(partial(self._send, captured=captured)):
                    handle = entrez_function(**params)
                handle.close()
                return validated(captured["body"], validate)
            except _Refused as refused:
                self._dump(endpoint, number, captured, f"HTTP {refused.status}")
                raise EutilsError(
                    self._redact(
                        f"{endpoint} was refused with HTTP {refused.status} by "
                        f"{self.policy.base_url}: {_snippet(refused.body)}"
                    )
                ) from None
            except Retryable as failure:
                # Reasons quote the server's answer, which may quote the key (NCBI does).
                failure.reason = self._redact(failure.reason)
                failure.body = redact_bytes(failure.body, [self.policy.api_key])
                self._dump(endpoint, number, captured, failure.reason)
                raise

        try:
            return with_retries(
                attempt, what=endpoint, policy=self.policy, sleep=self._sleep, log=log,
                invalid=InvalidResponseError,
            )  # fmt: skip
        except GaveUp as gave_up:
            raise SourceUnavailableError(
                self._redact(
                    f"PubMed {gave_up.how} at {self.policy.base_url} ({endpoint}: "
                    f"{gave_up.last.reason}, {gave_up.tries}); the next run resumes where this "
                    "one stopped, and without NCBI_EMAIL (or with --snapshot PATH) the ingest "
                    "reads a recorded snapshot instead"
                )
            ) from None

    def _dump(self, endpoint: str, attempt: int, captured: dict, reason: str) -> None:
        """Write a failed exchange to dump_dir for inspection, the API key redacted."""
        if self.policy.dump_dir is None:
            return
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        path = Path(self.policy.dump_dir) / f"{stamp}-{endpoint}-attempt{attempt}.txt"
        lines = [
            f"endpoint: {endpoint}",
            f"reason: {reason}",
            f"request: {captured.get('method')} {captured.get('url')}",
        ]
        if captured.get("data"):
            lines.append("form: " + captured["data"].decode("utf-8", "replace"))
        if "status" in captured:
            lines.append(f"status: {captured['status']}")
            lines += [f"header {k}: {v}" for k, v in captured["headers"].items()]
        text = self._redact("\n".join(lines) + "\n\n")
        body = redact_bytes(captured.get("body") or b"", [self.policy.api_key])
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("utf-8") + body)
        except OSError as error:
            log.warning("could not dump the failed response to %s: %s", path, error)
            return
        log.info("failed %s response saved to %s", endpoint, path)

    # -- esearch -------------------------------------------------------------------------------

    def esearch(
        self,
        term: str,
        *,
        retstart: int = 0,
        retmax: int | None = None,
        mindate: date | None = None,
        maxdate: date | None = None,
        datetype: str | None = None,
    ) -> SearchPage:
        """One esearch of PubMed with the history server (usehistory=y)."""
        params = {
            "db": "pubmed",
            "term": term,
            "usehistory": "y",
            "retstart": retstart,
            "retmax": self.policy.search_page_size if retmax is None else retmax,
        }
        if mindate or maxdate:
            params.update(
                datetype=datetype or "edat",
                mindate=(mindate or EARLIEST_DATE).strftime(EUTILS_DATE),
                maxdate=(maxdate or _today()).strftime(EUTILS_DATE),
            )
        body, page = self._call("esearch", Entrez.esearch, params, _validate_esearch)
        if self.on_esearch:
            with self._callback_lock:
                self.on_esearch(body, _describe_search(term, params))
        return page

    def search(
        self,
        term: str,
        *,
        mindate: date | None = None,
        maxdate: date | None = None,
        datetype: str = "edat",
    ) -> SearchResult:
        """Every PMID `term` finds, paging esearch and splitting by date past 9,999 ids."""
        dated = mindate is not None or maxdate is not None
        segments = list(
            self._search_range(term, mindate, maxdate, datetype if dated else None, dated)
        )
        seen: dict[str, None] = {}
        for segment in segments:
            seen.update(dict.fromkeys(segment.pmids))
        return SearchResult(term, tuple(seen), tuple(segments))

    def _search_range(
        self, term: str, mindate: date | None, maxdate: date | None, datetype: str | None,
        dated: bool,
    ) -> Iterator[SearchSegment]:  # fmt: skip
        first = self.esearch(
            term, mindate=mindate if dated else None, maxdate=maxdate if dated else None,
            datetype=datetype,
        )  # fmt: skip
        if first.count > self.policy.max_search_ids:
            low, high = mindate or EARLIEST_DATE, maxdate or _today()
            if low >= high:
                raise EutilsError(
                    f"the search finds {first.count} records on the single day {low}, more "
                    f"than esearch can list ({self.policy.max_search_ids}); narrow the query"
                )
            middle = low + timedelta(days=(high - low).days // 2)
            log.info(
                "the search finds %d records between %s and %s, more than esearch lists; "
                "splitting at %s", first.count, low, high, middle,
            )  # fmt: skip
            kind = datetype or "edat"
            yield from self._search_range(term, low, middle, kind, True)
            yield from self._search_range(term, middle + timedelta(days=1), high, kind, True)
            return
        pmids = list(first.pmids)
        while len(pmids) < first.count:
            page = self.esearch(
                term, retstart=len(pmids), mindate=mindate if dated else None,
                maxdate=maxdate if dated else None, datetype=datetype,
            )  # fmt: skip
            if not page.pmids:
                log.warning(
                    "esearch stopped after %d of %d ids (records changed while paging?)",
                    len(pmids), first.count,
                )  # fmt: skip
                break
            pmids.extend(page.pmids)
        yield SearchSegment(
            tuple(dict.fromkeys(pmids)), first.webenv, first.query_key,
            mindate if dated else None, maxdate if dated else None,
        )  # fmt: skip

    # -- efetch --------------------------------------------------------------------------------

    def efetch(self, request: FetchRequest) -> bytes:
        """The XML of one batch, validated as a complete PubmedArticleSet."""
        params: dict = {"db": "pubmed", "rettype": "xml", "retmode": "xml"}
        if request.from_history:
            params.update(
                WebEnv=request.webenv,
                query_key=request.query_key,
                retstart=request.retstart,
                retmax=len(request.pmids),
            )
        else:
            params["id"] = list(request.pmids)
        body, _ = self._call("efetch", Entrez.efetch, params, _validate_efetch)
        if self.on_efetch:
            with self._callback_lock:
                self.on_efetch(body, request.describe())
        return body

    def fetch(
        self,
        request: FetchRequest,
        *,
        pool: Executor | None = None,
        follow_up: FollowUp | None = None,
    ) -> FetchResult:
        """Fetch and parse a batch (the result of its prefetch when one was started); a batch
        that stays invalid is split until the bad record is isolated and quarantined with its
        bytes. Every PMID asked for ends up parsed or quarantined, never silently missing.

        With a `pool` the records are parsed in its worker processes, each article coming back
        as its warehouse rows, and a `follow_up` runs there on them (see
        `pipeline.parse.parse_pubmed_xml`).
        """
        with self._prefetch_lock:
            prefetched = self._prefetched.pop(request, None)
        if prefetched is not None:
            return prefetched[0].result()
        return self._fetch(request, pool, follow_up)

    def _fetch(
        self, request: FetchRequest, pool: Executor | None, follow_up: FollowUp | None
    ) -> FetchResult:
        result = FetchResult()
        try:
            body = self.efetch(request)
        except InvalidResponseError as error:
            result.requests += 1
            if request.from_history:
                log.warning(
                    "%s stayed invalid (%s); asking by id instead", request.describe(), error
                )
                result.extend(self._fetch(request.by_ids(), pool, follow_up))
            elif len(request.pmids) == 1:
                pmid = request.pmids[0]
                log.warning("quarantined PMID %s: its efetch stayed invalid: %s", pmid, error)
                result.quarantined.append(
                    Quarantined("fetch", str(error), error.body, pmid, request.describe())
                )
            else:
                first, second = request.halves()
                log.warning(
                    "%s stayed invalid (%s); splitting it in halves of %d and %d",
                    request.describe(), error, len(first.pmids), len(second.pmids),
                )  # fmt: skip
                result.extend(self._fetch(first, pool, follow_up))
                result.extend(self._fetch(second, pool, follow_up))
            return result
        result.requests += 1
        got: set[str] = set()
        parsed = parse_pubmed_xml(
            body, "live", origin=request.describe(), pool=pool, follow_up=follow_up
        )
        for item in parsed:
            if isinstance(item, ParsedRecord):
                result.records.append(item)
                got.add(item.article.pmid)
            else:
                result.quarantined.append(item)
                if item.pmid:
                    got.add(item.pmid)
        missing = tuple(p for p in request.pmids if p not in got)
        if missing and request.from_history:
            log.warning(
                "%s did not return %d of the PMIDs expected at those positions; "
                "asking for them by id", request.describe(), len(missing),
            )  # fmt: skip
            result.extend(self._fetch(FetchRequest(missing), pool, follow_up))
        elif missing:
            for pmid in missing:
                log.warning("PubMed returned no record for PMID %s", pmid)
                result.quarantined.append(
                    Quarantined(
                        "fetch",
                        "PubMed returned no record for this PMID (deleted or merged?)",
                        b"",
                        pmid,
                        request.describe(),
                    )  # fmt: skip
                )
        return result


# --- validators -------------------------------------------------------------------------------


def _validate_esearch(body: bytes) -> SearchPage:
    try:
        root = ET.fromstring(body)
    except ET.ParseError as error:
        raise Invalid(f"esearch answer is not XML ({error}): {_snippet(body)}") from None
    if root.tag != "eSearchResult":
        raise Invalid(f"esearch answer is a {root.tag}, not an eSearchResult: {_snippet(body)}")
    error = root.find("ERROR")
    if error is not None:
        raise Invalid(f"esearch answered with an error: {(error.text or '').strip()}")
    count_text = root.findtext("Count")
    if count_text is None or not count_text.strip().isdigit():
        raise Invalid(f"esearch answer has no Count: {_snippet(body)}")
    for warning in root.iterfind("WarningList/*"):
        log.warning("esearch warning %s: %s", warning.tag, (warning.text or "").strip())
    return SearchPage(
        count=int(count_text),
        pmids=[(e.text or "").strip() for e in root.iterfind("IdList/Id")],
        webenv=(root.findtext("WebEnv") or "").strip() or None,
        query_key=(root.findtext("QueryKey") or "").strip() or None,
        body=body,
    )


def _validate_efetch(body: bytes) -> int:
    try:
        return sum(1 for _ in iter_record_bytes(io.BytesIO(body)))
    except (TruncatedXMLError, NotArticleSetError) as error:
        raise Invalid(str(error)) from None


def _snippet(body: bytes, length: int = 160) -> str:
    text = " ".join(body[:length].decode("utf-8", "replace").split())
    return repr(text + ("..." if len(body) > length else ""))


def _describe_search(term: str, params: dict) -> str:
    dates = ""
    if "mindate" in params:
        dates = f", {params['datetype']} {params['mindate']}-{params['maxdate']}"
    return f"esearch {term!r} retstart {params['retstart']}{dates}"


def _today() -> date:
    return datetime.now(UTC).date()
