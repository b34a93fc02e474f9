"""A fake E-utilities server on 127.0.0.1 for the ingest tests.

It serves esearch (with WebEnv, query_key, Count, date filters and the 9,999-id paging limit)
and efetch (from the history server by retstart/retmax, or by id list over GET or POST) from
real PubMed records: the three articles of the real efetch response, copied and renumbered.
Faults are queued per endpoint: HTTP errors with headers, hangs, truncated XML, broken
bodies, a malformed record, a server that fails for good after N answers, and any answer of
one's own (`body`, e.g. one that echoes the request's api_key as NCBI does for a bad key).
`latency` makes every answer wait that many seconds before it is sent, as NCBI's do; the time
each request arrived (`started`) and how many were in flight at most (`most_in_flight`) are
kept, so tests can check the request rate and that requests overlapped.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import fake_http

XML_HEAD = (
    b'<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, '
    b'1st January 2025//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n'
    b"<PubmedArticleSet>\n"
)
XML_TAIL = b"</PubmedArticleSet>"
ESEARCH_LIMIT = 9999


def real_articles(pubmed_records: Path) -> list[tuple[str, bytes]]:
    """(PMID, exact bytes) of each PubmedArticle in the real efetch response."""
    data = (pubmed_records / "efetch_sample.xml").read_bytes()
    articles = re.findall(rb"<PubmedArticle>.*?</PubmedArticle>", data, re.S)
    return [(re.search(rb"<PMID[^>]*>(\d+)</PMID>", a)[1].decode(), a) for a in articles]


def renumber(article: bytes, old_pmid: str, new_pmid: str) -> bytes:
    """The article with its own PMID (MedlineCitation and ArticleIdList) replaced."""
    article = article.replace(
        f'<PMID Version="1">{old_pmid}</PMID>'.encode(),
        f'<PMID Version="1">{new_pmid}</PMID>'.encode(),
        1,
    )
    return article.replace(
        f'<ArticleId IdType="pubmed">{old_pmid}</ArticleId>'.encode(),
        f'<ArticleId IdType="pubmed">{new_pmid}</ArticleId>'.encode(),
    )


@dataclass
class FakeRecord:
    """One PubMed record: its XML is made on demand (renumbered from a real template)."""

    pmid: str
    template: tuple[str, bytes]
    edat: date
    mdat: date
    malformed: bool = False

    def xml(self) -> bytes:
        old, article = self.template
        body = renumber(article, old, self.pmid)
        if self.malformed:  # an unescaped ampersand: this record alone is not well-formed XML
            body = body.replace(b"<ArticleTitle>", b"<ArticleTitle>Broken & ", 1)
        return body


@dataclass
class Request:
    endpoint: str
    method: str
    params: dict[str, str]
    path: str

    @property
    def ids(self) -> list[str]:
        return [i for i in self.params.get("id", "").split(",") if i]


@dataclass
class Fault(fake_http.Fault):
    """A fault of the E-utilities fake: the shared fields, and where a truncation cuts and what a
    status answer says."""

    pmid: str | None = None  # 'truncate': cut inside this record (default: the last one)
    body: Callable[[Request], bytes] | None = None  # 'status': the answer's body, from the request


class FakeEutils:
    """State of the fake server: records, searches, history, faults and a request log."""

    def __init__(self, templates: list[tuple[str, bytes]], *, latency: float = 0.0) -> None:
        self.latency = latency  # seconds every answer waits before it is sent
        self.started: list[float] = []  # time.monotonic() at which each request arrived
        self.in_flight = 0
        self.most_in_flight = 0
        self.templates = templates
        self.records: dict[str, FakeRecord] = {}
        self.queries: dict[str, list[str]] = {}  # term -> PMIDs; an unknown term finds all
        self.history: dict[tuple[str, str], list[str]] = {}
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        self.answered: dict[str, int] = {"esearch": 0, "efetch": 0}
        self.release = threading.Event()  # set at shutdown so hanging handlers return
        self._lock = threading.Lock()

    # -- set-up --------------------------------------------------------------------------------

    def add_records(
        self, n: int, *, first_pmid: int = 90000001, edat: date = date(2020, 1, 1), step_days=1
    ) -> list[str]:
        """n renumbered copies of the real records, one day apart by Entrez date."""
        pmids = []
        for i in range(n):
            pmid = str(first_pmid + i)
            day = edat + timedelta(days=i * step_days)
            self.records[pmid] = FakeRecord(pmid, self.templates[i % len(self.templates)], day, day)
            pmids.append(pmid)
        return pmids

    def fault(self, endpoint: str, kind: str, **settings) -> Fault:
        fault = Fault(endpoint, kind, **settings)
        self.faults.append(fault)
        return fault

    def truncate_record(self, pmid: str) -> Fault:
        """Every efetch that includes `pmid` is cut off inside that record, for good."""
        return self.fault(
            "efetch", "truncate", times=None, pmid=pmid,
            when=lambda request: pmid in fetched_pmids(request, self),
        )  # fmt: skip

    def calls(self, endpoint: str) -> list[Request]:
        return [r for r in self.requests if r.endpoint == endpoint]

    def most_starts_within(self, seconds: float) -> int:
        """The largest number of requests that arrived within any window of `seconds`."""
        with self._lock:
            starts = sorted(self.started)
        most, first = 0, 0
        for last, start in enumerate(starts):
            while start - starts[first] >= seconds:
                first += 1
            most = max(most, last - first + 1)
        return most

    @contextmanager
    def arrived(self) -> Iterator[None]:
        """Count a request from its arrival until its answer is sent."""
        with self._lock:
            self.started.append(time.monotonic())
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            yield
        finally:
            with self._lock:
                self.in_flight -= 1

    # -- answering -----------------------------------------------------------------------------

    def answer(self, request: Request) -> tuple[int, dict[str, str], bytes, Fault | None]:
        with self._lock:
            self.requests.append(request)
            fault = fake_http.next_fault(
                self.faults, request.endpoint, self.answered[request.endpoint], request
            )
        if fault is not None and fault.kind == "hang":
            self.release.wait(fault.seconds)
        if fault is not None and fault.kind == "status":
            body = fault.body(request) if fault.body else b"<html><body>error</body></html>"
            return fault.status, fault.headers, body, None
        if request.endpoint == "esearch":
            status, headers, body = 200, {"Content-Type": "text/xml"}, self._esearch(request)
        elif request.endpoint == "efetch":
            status, headers, body = 200, {"Content-Type": "text/xml"}, self._efetch(request)
        else:
            return 404, {}, b"unknown endpoint", None
        with self._lock:
            self.answered[request.endpoint] += 1
        return status, headers, body, fault

    def _matching(self, params: dict[str, str]) -> list[str]:
        term = params.get("term", "")
        pmids = self.queries.get(term, list(self.records))
        if "mindate" in params or "maxdate" in params:
            low = _eutils_date(params.get("mindate", "1000/01/01"))
            high = _eutils_date(params.get("maxdate", "3000/12/31"))
            attribute = {"edat": "edat", "mdat": "mdat"}[params.get("datetype", "edat")]
            pmids = [p for p in pmids if low <= getattr(self.records[p], attribute) <= high]
        return pmids

    def _esearch(self, request: Request) -> bytes:
        params = request.params
        pmids = self._matching(params)
        retstart = int(params.get("retstart", 0))
        retmax = int(params.get("retmax", 20))
        if retstart >= ESEARCH_LIMIT:
            return (
                b'<?xml version="1.0" ?>\n<eSearchResult><ERROR>Search Backend failed: '
                b"Exception:\n'retstart' cannot be larger than 9998. For PubMed, ESearch can "
                b"only retrieve the first 9,999 records matching the query.</ERROR>"
                b"</eSearchResult>"
            )
        with self._lock:
            webenv = params.get("WebEnv") or f"MCID_fake_{len(self.history) + 1}"
            query_key = str(1 + sum(1 for w, _ in self.history if w == webenv))
            self.history[(webenv, query_key)] = pmids
        page = pmids[retstart : min(retstart + retmax, ESEARCH_LIMIT)]
        ids = "".join(f"<Id>{p}</Id>" for p in page)
        return (
            '<?xml version="1.0" encoding="UTF-8" ?>\n<!DOCTYPE eSearchResult PUBLIC '
            '"-//NLM//DTD esearch 20060628//EN" '
            '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20060628/esearch.dtd">\n'
            f"<eSearchResult><Count>{len(pmids)}</Count><RetMax>{len(page)}</RetMax>"
            f"<RetStart>{retstart}</RetStart><QueryKey>{query_key}</QueryKey>"
            f"<WebEnv>{webenv}</WebEnv><IdList>{ids}</IdList><TranslationSet/>"
            f"<QueryTranslation>{params.get('term', '')}</QueryTranslation></eSearchResult>\n"
        ).encode()

    def _efetch(self, request: Request) -> bytes:
        params = request.params
        if "WebEnv" in params:
            pmids = self.history.get((params["WebEnv"], params.get("query_key", "")))
            if pmids is None:
                return b"<eFetchResult><ERROR>Unable to obtain query #1</ERROR></eFetchResult>"
            start = int(params.get("retstart", 0))
            pmids = pmids[start : start + int(params.get("retmax", 20))]
        else:
            pmids = [p for p in request.ids if p in self.records]
        return XML_HEAD + b"\n".join(self.records[p].xml() for p in pmids) + b"\n" + XML_TAIL

    @staticmethod
    def truncated(body: bytes, pmid: str | None = None) -> bytes:
        """The body cut off in the middle of the record `pmid` (or of the last record)."""
        marker = f'<PMID Version="1">{pmid}</PMID>'.encode() if pmid else b"<PubmedArticle>"
        at = body.find(marker) if pmid else body.rfind(marker)
        return body[: (at if at >= 0 else len(body) // 2) + 40]


def fetched_pmids(request: Request, fake: FakeEutils) -> list[str]:
    """The PMIDs an efetch request asked for (by id or by history position)."""
    if "WebEnv" in request.params:
        pmids = fake.history.get((request.params["WebEnv"], request.params.get("query_key")), [])
        start = int(request.params.get("retstart", 0))
        return pmids[start : start + int(request.params.get("retmax", 20))]
    return request.ids


def _eutils_date(text: str) -> date:
    return datetime.strptime(text, "%Y/%m/%d").date()


class _Handler(fake_http.FakeHandler):
    fake: FakeEutils

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        with self.fake.arrived():
            self._serve(urlsplit(self.path).query)

    def do_POST(self) -> None:  # noqa: N802
        with self.fake.arrived():
            length = int(self.headers.get("Content-Length", 0))
            self._serve(self.rfile.read(length).decode("utf-8"))

    def _serve(self, query: str) -> None:
        path = urlsplit(self.path).path
        endpoint = path.rsplit("/", 1)[-1].split(".")[0]
        params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        request = Request(endpoint, self.command, params, path)
        if self.fake.latency:
            self.fake.release.wait(self.fake.latency)
        status, headers, body, fault = self.fake.answer(request)
        if fault is not None and fault.kind == "truncate":
            body = FakeEutils.truncated(body, fault.pmid)
        broken = fault is not None and fault.kind == "broken_body"
        self.send_answer(status, headers, body, broken=broken)


@contextmanager
def serve(fake: FakeEutils) -> Iterator[str]:
    """Run the fake on 127.0.0.1 (a free port) in a thread; yields its E-utilities base URL."""
    handler = type("Handler", (_Handler,), {"fake": fake})
    with fake_http.serve(handler, fake.release, "/entrez/eutils/") as url:
        yield url


def wait_for(condition: Callable[[], bool], timeout: float = 120.0) -> bool:
    """Poll until `condition()` holds (for cross-process tests); False on timeout.

    The timeout is generous: a child process that imports the package on a loaded machine can
    take tens of seconds to start; a condition that holds returns at once.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False
