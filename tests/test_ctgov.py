"""The ClinicalTrials.gov client through real HTTP to the fake registry: rate limit, retries
that honour Retry-After, truncated bodies, paging that stops on an empty page, 404."""

from __future__ import annotations

import json

import pytest
from fake_ctgov import FakeCtgov, serve

from pipeline import config
from pipeline.errors import SourceUnavailableError
from pipeline.sources.ctgov import (
    CtgovClient,
    CtgovError,
    CtgovPolicy,
    InvalidDocumentError,
    NotInRegistryError,
    public_url,
    updated_since,
)

SIX = ["NCT04599855", "NCT03434041", "NCT02418585", "NCT02918318", "NCT02422186", "NCT02417064"]


class VirtualTime:
    """A clock that only moves when something sleeps: rate limits tested without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake() -> FakeCtgov:
    return FakeCtgov()


@pytest.fixture
def time_() -> VirtualTime:
    return VirtualTime()


@pytest.fixture
def client(fake, time_):
    with serve(fake) as url:
        policy = CtgovPolicy(base_url=url, retry_delays=(2.0, 4.0), timeout=5.0, page_size=3)
        with CtgovClient(policy, clock=time_.clock, sleep=time_.sleep) as c:
            yield c


def test_the_default_policy_is_polite_and_bounded(monkeypatch):
    monkeypatch.delenv("CTGOV_BASE_URL", raising=False)
    policy = CtgovPolicy()
    assert policy.base_url == "https://clinicaltrials.gov/api/v2/"
    assert policy.request_interval == 1.0
    assert policy.timeout > 0 and policy.attempts == 6
    monkeypatch.setenv("CTGOV_BASE_URL", "http://127.0.0.1:9/api/v2")
    assert config.ctgov_base_url() == "http://127.0.0.1:9/api/v2/"


def test_a_study_is_returned_exactly_as_received(client, fake):
    study = client.study("NCT02417064")
    assert (
        study.body == json.dumps(fake.studies["NCT02417064"], ensure_ascii=False, indent=2).encode()
    )
    assert study.document == fake.studies["NCT02417064"]
    assert study.url.endswith("/api/v2/studies/NCT02417064")
    assert len(study.checksum) == 64 and study.source == "live"


def test_requests_are_spaced_about_one_second_apart(client, time_):
    for nct_id in SIX[:3]:
        client.study(nct_id)
    assert time_.sleeps == [pytest.approx(1.0), pytest.approx(1.0)]  # none before the first


def test_429_waits_as_long_as_retry_after_says(client, fake, time_):
    fake.fault("study", "status", status=429, headers={"Retry-After": "7"})
    assert client.study("NCT02417064").nct_id == "NCT02417064"
    assert 7.0 in time_.sleeps  # the Retry-After, longer than the first delay (2 s)
    assert len(fake.calls("study")) == 2


def test_a_500_is_retried_with_backoff(client, fake, time_):
    fake.fault("study", "status", status=500, times=2)
    client.study("NCT02417064")
    assert [s for s in time_.sleeps if s > 1.5] == [2.0, 4.0]
    assert len(fake.calls("study")) == 3


def test_a_server_that_keeps_failing_is_reported_as_unavailable(client, fake):
    fake.fault("study", "status", status=503, times=None)
    with pytest.raises(SourceUnavailableError, match=r"kept failing .*HTTP 503.*3 attempts"):
        client.study("NCT02417064")


def test_a_truncated_body_is_retried_then_used_whole(client, fake):
    fake.fault("study", "truncate")
    study = client.study("NCT02418585")
    assert study.document == fake.studies["NCT02418585"]
    assert len(fake.calls("study")) == 2


def test_a_body_that_stays_truncated_fails_and_keeps_the_bytes(client, fake):
    fake.fault("study", "truncate", times=None)
    with pytest.raises(InvalidDocumentError, match="not complete JSON") as caught:
        client.study("NCT02418585")
    assert 0 < len(caught.value.body) < len(json.dumps(fake.studies["NCT02418585"], indent=2))


def test_a_body_cut_off_mid_read_is_retried(client, fake):
    fake.fault("study", "broken_body")
    assert client.study("NCT02418585").document == fake.studies["NCT02418585"]


def test_a_hanging_server_times_out_and_is_retried(fake, time_):
    fake.fault("study", "hang", seconds=5)
    with serve(fake) as url:
        policy = CtgovPolicy(base_url=url, retry_delays=(0.0,), timeout=0.3)
        with CtgovClient(policy, clock=time_.clock, sleep=time_.sleep) as c:
            assert c.study("NCT02418585").nct_id == "NCT02418585"


def test_an_unknown_id_is_not_in_the_registry(client, fake):
    with pytest.raises(NotInRegistryError, match="NCT09999999 is not in the registry"):
        client.study("NCT09999999")
    assert len(fake.calls("study")) == 1  # a 404 is an answer, not retried


def test_an_answer_about_another_study_is_invalid(client, fake):
    fake.studies["NCT09999998"] = fake.studies["NCT02417064"]
    with pytest.raises(InvalidDocumentError, match="asked for NCT09999998"):
        client.study("NCT09999998")


def test_a_malformed_id_is_refused_before_any_request(client, fake):
    with pytest.raises(CtgovError, match="not an NCT number"):
        client.study("NCT123")
    assert fake.requests == []


def test_paging_stops_on_the_empty_page_after_a_full_one(client, fake):
    listed = client.search("depression", "ketamine OR esketamine")
    assert [s.nct_id for s in listed] == SIX
    pages = fake.calls("studies")
    assert [p.params.get("pageToken") for p in pages] == [None, "3", "6"]  # the last is empty
    assert pages[0].params["query.cond"] == "depression"
    assert pages[0].params["query.intr"] == "ketamine OR esketamine"
    assert pages[0].params["fields"] == "NCTId,LastUpdatePostDate"
    assert all(s.last_update_post_date == "2024-01-15" for s in listed)


def test_paging_stops_on_a_page_without_a_token(fake, time_):
    with serve(fake) as url:
        policy = CtgovPolicy(base_url=url, page_size=4)
        with CtgovClient(policy, clock=time_.clock, sleep=time_.sleep) as c:
            assert len(c.search("depression", "esketamine")) == 6
    assert [p.params.get("pageToken") for p in fake.calls("studies")] == [None, "4"]


def test_a_listing_page_that_fails_once_is_retried(client, fake):
    fake.fault("studies", "truncate", after=1)
    assert len(client.search("depression", "esketamine")) == 6


def test_list_ids_filters_by_update_date(client, fake):
    fake.update("NCT02418585", "2026-10-01")
    listed = client.list_ids(["NCT02418585", "NCT02417064", "NCT09999999"], since="2026-09-01")
    assert [(s.nct_id, s.last_update_post_date) for s in listed] == [("NCT02418585", "2026-10-01")]
    (request,) = fake.calls("studies")
    assert request.params["filter.ids"] == "NCT02418585|NCT02417064|NCT09999999"
    assert request.params["filter.advanced"] == "AREA[LastUpdatePostDate]RANGE[2026-09-01,MAX]"


def test_updated_since_expression():
    assert updated_since("2026-01-31") == "AREA[LastUpdatePostDate]RANGE[2026-01-31,MAX]"


def test_public_url_drops_credentials():
    assert public_url("https://u:secret@proxy.example:8443/api/v2/studies/NCT1") == (
        "https://proxy.example:8443/api/v2/studies/NCT1"
    )
    assert public_url("https://clinicaltrials.gov/api/v2/") == "https://clinicaltrials.gov/api/v2/"


def test_an_unreachable_registry_is_one_clear_error(time_):
    policy = CtgovPolicy(base_url="http://127.0.0.1:9/api/v2/", retry_delays=(0.0,), timeout=1)
    with (
        CtgovClient(policy, clock=time_.clock, sleep=time_.sleep) as c,
        pytest.raises(SourceUnavailableError, match="could not be reached"),
    ):
        c.study("NCT02417064")
