"""A fake ClinicalTrials.gov API v2 on 127.0.0.1 for the registry tests.

It serves `GET studies/{nctId}` and `GET studies` (query.cond, query.intr, filter.ids,
filter.advanced=AREA[LastUpdatePostDate]RANGE[date,MAX], fields, pageSize, pageToken) from the
real posted outcome measures bundled in pipeline/data/registry. Like the real API it hands out
a nextPageToken whenever a page is exactly full, so the page after it is empty. Each study's
`protocolSection` (NCT id and last-update-post date only) is the fake's own, so that listings
and incremental runs can be tested: the dates are invented for the tests and never loaded as
registry facts by the product. Faults are queued per endpoint ('study' or 'studies'): HTTP
errors with headers, truncated bodies, broken bodies, hangs.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import fake_http

REPO = Path(__file__).resolve().parent.parent
EXCERPT = REPO / "pipeline" / "data" / "registry" / "esketamine_trd_ctgov_results.json"
RANGE = re.compile(r"^AREA\[LastUpdatePostDate\]RANGE\[(\d{4}-\d{2}(?:-\d{2})?),MAX\]$")


def real_outcome_measures() -> dict[str, list[dict]]:
    """NCT id -> the real outcome measures as the registry posted them (bundled excerpt)."""
    return json.loads(EXCERPT.read_text(encoding="utf-8"))["ctgov_results"]


@dataclass
class Request:
    endpoint: str  # 'study' | 'studies'
    nct_id: str | None
    params: dict[str, str]


# The registry's faults need nothing beyond the shared fields.
Fault = fake_http.Fault


class FakeCtgov:
    """State of the fake registry: studies, faults and a request log."""

    def __init__(self, measures: dict[str, list[dict]] | None = None) -> None:
        measures = measures if measures is not None else real_outcome_measures()
        self.studies: dict[str, dict] = {}
        for nct_id, outcome_measures in measures.items():
            self.add_study(nct_id, outcome_measures, "2024-01-15")
        self.search_hits: list[str] | None = None  # None: every study matches the search
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        self.answered = {"study": 0, "studies": 0}
        self.release = threading.Event()
        self._lock = threading.Lock()

    def add_study(self, nct_id: str, outcome_measures: list[dict], updated: str) -> None:
        self.studies[nct_id] = {
            "protocolSection": {
                "identificationModule": {"nctId": nct_id},
                "statusModule": {"lastUpdatePostDateStruct": {"date": updated, "type": "ACTUAL"}},
            },
            "resultsSection": {
                "outcomeMeasuresModule": {"outcomeMeasures": copy.deepcopy(outcome_measures)}
            },
            "hasResults": True,
        }

    def update(self, nct_id: str, date: str, change: Callable[[dict], None] | None = None) -> None:
        """Post an update of a study: a new last-update date, and optionally changed content."""
        study = self.studies[nct_id]
        study["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"] = date
        if change is not None:
            change(study)

    def fault(self, endpoint: str, kind: str, **settings) -> Fault:
        fault = Fault(endpoint, kind, **settings)
        self.faults.append(fault)
        return fault

    def calls(self, endpoint: str) -> list[Request]:
        return [r for r in self.requests if r.endpoint == endpoint]

    def fetched_ids(self) -> list[str]:
        """The NCT ids of every study document asked for, in order."""
        return [r.nct_id for r in self.calls("study")]

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
            return fault.status, fault.headers, b'{"error": "fault"}', None
        if request.endpoint == "study":
            study = self.studies.get(request.nct_id or "")
            if study is None:
                return 404, {"Content-Type": "text/plain"}, b"NCT number not found", None
            body = json.dumps(study, ensure_ascii=False, indent=2).encode()
        else:
            body = self._listing(request.params)
        with self._lock:
            self.answered[request.endpoint] += 1
        return 200, {"Content-Type": "application/json"}, body, fault

    def _listing(self, params: dict[str, str]) -> bytes:
        if "filter.ids" in params:
            wanted = re.split(r"[|,]", params["filter.ids"])
            ids = [i for i in wanted if i in self.studies]
        elif "query.cond" in params or "query.intr" in params:
            ids = list(self.search_hits if self.search_hits is not None else self.studies)
        else:
            ids = list(self.studies)
        advanced = params.get("filter.advanced")
        if advanced:
            match = RANGE.match(advanced)
            if not match:
                return json.dumps({"error": f"unsupported filter {advanced}"}).encode()
            ids = [i for i in ids if self._date(i) >= match[1]]
        size = int(params.get("pageSize", 10))
        start = int(params.get("pageToken", "0") or 0)
        page = ids[start : start + size]
        answer: dict = {"studies": [self._listed(i, params) for i in page]}
        if len(page) == size:  # as the real API: a full page gets a token, even the last one
            answer["nextPageToken"] = str(start + size)
        return json.dumps(answer).encode()

    def _date(self, nct_id: str) -> str:
        status = self.studies[nct_id]["protocolSection"]["statusModule"]
        return status["lastUpdatePostDateStruct"]["date"]

    def _listed(self, nct_id: str, params: dict[str, str]) -> dict:
        if "fields" in params:
            return {
                "protocolSection": {
                    "identificationModule": {"nctId": nct_id},
                    "statusModule": {"lastUpdatePostDateStruct": {"date": self._date(nct_id)}},
                }
            }
        return self.studies[nct_id]


class _Handler(fake_http.FakeHandler):
    fake: FakeCtgov

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        parts = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        segments = [s for s in parts.path.split("/") if s]
        if segments[-1:] == ["studies"]:
            request = Request("studies", None, params)
        elif len(segments) >= 2 and segments[-2] == "studies":
            request = Request("study", segments[-1], params)
        else:
            self.send_answer(404, {}, b"")
            return
        status, headers, body, fault = self.fake.answer(request)
        if fault is not None and fault.kind == "truncate":
            body = body[: len(body) // 2]
        broken = fault is not None and fault.kind == "broken_body"
        self.send_answer(status, headers, body, broken=broken)


@contextmanager
def serve(fake: FakeCtgov) -> Iterator[str]:
    """Run the fake on 127.0.0.1 (a free port) in a thread; yields its API base URL."""
    handler = type("Handler", (_Handler,), {"fake": fake})
    with fake_http.serve(handler, fake.release, "/api/v2/") as url:
        yield url
