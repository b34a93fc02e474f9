"""The live Entrez client against a fake E-utilities server on 127.0.0.1."""

from __future__ import annotations

import socket
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from Bio import Entrez
from fake_eutils import FakeEutils, fetched_pmids, real_articles, serve

from pipeline.errors import SourceUnavailableError
from pipeline.parse import ParsedRecord
from pipeline.sources.entrez import (
    EntrezClient,
    EntrezPolicy,
    EutilsError,
    FetchRequest,
    InvalidResponseError,
)

API_KEY = "secret-key-0123456789"


@pytest.fixture
def fake(pubmed_records) -> FakeEutils:
    return FakeEutils(real_articles(pubmed_records))


@pytest.fixture
def base_url(fake):
    with serve(fake) as url:
        yield url


class Sleeps(list):
    """A stand-in for time.sleep that records each wait instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_client(base_url, sleeps=None, **settings) -> EntrezClient:
    policy = EntrezPolicy(
        email="ingest-tests@example.org",
        api_key=settings.pop("api_key", API_KEY),
        base_url=base_url,
        timeout=settings.pop("timeout", 5.0),
        retry_delays=settings.pop("retry_delays", (0.01, 0.02, 0.04)),
        request_interval=settings.pop("request_interval", 0.0),
        **settings,
    )
    return EntrezClient(policy, sleep=sleeps if sleeps is not None else Sleeps())


def test_search_pages_with_history_and_sends_identity(fake, base_url):
    pmids = fake.add_records(7)
    client = make_client(base_url, search_page_size=3)
    result = client.search("ketamine[tiab]")
    assert result.pmids == tuple(pmids)
    searches = fake.calls("esearch")
    assert len(searches) == 3  # 3 + 3 + 1 ids
    assert [s.params["retstart"] for s in searches] == ["0", "3", "6"]
    first = searches[0].params
    assert first["usehistory"] == "y" and first["db"] == "pubmed"
    assert first["tool"] == "ketamine-evidence-pipeline"
    assert first["email"] == "ingest-tests@example.org"
    assert first["api_key"] == API_KEY
    assert "mindate" not in first and "datetype" not in first
    (segment,) = result.segments
    assert segment.webenv and segment.query_key == "1"


def test_entrez_transport_is_restored_after_each_call(fake, base_url):
    original_open = Entrez._open
    fake.add_records(1)
    make_client(base_url).search("x")
    assert Entrez.urlopen is urllib.request.urlopen
    assert Entrez._open is original_open


# Arrival times are taken by the server: a request that reaches it late (thread scheduling on a
# busy machine: 2 cores shared by a whole test suite) narrows the gap to the next one by as
# much. Windows are this much shorter than a second; a limiter not shared by the threads, or
# one twice too fast, still fails.
ARRIVAL_JITTER = 0.2


@pytest.mark.parametrize(("api_key", "per_second"), [(None, 3), (API_KEY, 10)])
def test_requests_from_threads_overlap_but_never_start_faster_than_ncbi_allows(
    pubmed_records, api_key, per_second
):
    fake = FakeEutils(real_articles(pubmed_records), latency=0.5)
    pmids = fake.add_records(per_second * 2 + 2)  # a little over two seconds of requests
    with serve(fake) as url:
        policy = EntrezPolicy(
            email="ingest-tests@example.org", api_key=api_key, base_url=url, timeout=5.0,
            retry_delays=(0.01,),
        )  # fmt: skip
        client = EntrezClient(policy)  # the policy's own interval, and real sleeps
        with ThreadPoolExecutor(max_workers=6) as pool:
            results = list(pool.map(client.fetch, [FetchRequest((p,)) for p in pmids]))
        client.close()
    assert [r.records[0].article.pmid for r in results] == pmids
    assert fake.most_starts_within(1.0 - ARRIVAL_JITTER) <= per_second
    assert fake.most_in_flight >= 2  # requests overlapped (500 ms each, a start every 100-333 ms)


def test_a_dropped_prefetch_still_waiting_for_its_turn_is_never_sent(fake, base_url):
    """Ctrl-C drops the prefetches without waiting: one whose start time has not come yet
    sends nothing afterwards (in a notebook or a test the process lives on)."""
    pmids = fake.add_records(2)
    client = make_client(base_url, sleeps=time.sleep, request_interval=0.5)
    first, second = FetchRequest((pmids[0],)), FetchRequest((pmids[1],))
    client.prefetch(first)
    client.prefetch(second)  # waits its turn: half a second after the first
    assert client.fetch(first).records[0].article.pmid == pmids[0]
    client.drop_prefetched(wait=False)
    time.sleep(1.0)  # past the second's start time
    assert [fetched_pmids(r, fake) for r in fake.calls("efetch")] == [[pmids[0]]]
    client.close()


def test_recording_callbacks_run_one_at_a_time_across_threads(fake, base_url):
    pmids = fake.add_records(8)
    client = make_client(base_url)
    running, most = [0], [0]

    def record(body: bytes, description: str) -> None:
        running[0] += 1
        most[0] = max(most[0], running[0])
        time.sleep(0.02)
        running[0] -= 1

    client.on_efetch = record
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(client.fetch, [FetchRequest((p,)) for p in pmids]))
    assert most[0] == 1


def test_search_past_the_esearch_limit_is_split_by_entrez_date(fake, base_url):
    """12,000 ids, more than esearch lists for one search: the client splits by edat."""
    pmids = fake.add_records(12000, edat=date(1990, 1, 1), step_days=1)
    client = make_client(base_url)
    result = client.search("esketamine", mindate=date(1990, 1, 1), maxdate=date(2030, 1, 1))
    assert sorted(result.pmids) == sorted(pmids)
    assert len(result.pmids) == 12000
    searches = fake.calls("esearch")
    assert all(s.params["datetype"] == "edat" for s in searches)
    assert len(result.segments) >= 2
    assert all(len(s.pmids) <= 9999 for s in result.segments)
    # the first request covered the whole range and found too many
    assert searches[0].params["mindate"] == "1990/01/01"
    assert searches[0].params["maxdate"] == "2030/01/01"


def test_search_without_dates_past_the_limit_is_split_too(fake, base_url):
    fake.add_records(30, edat=date(2001, 1, 1), step_days=30)
    client = make_client(base_url, max_search_ids=10, search_page_size=10)
    result = client.search("esketamine")
    assert len(result.pmids) == 30 == len(set(result.pmids))
    assert all(len(s.pmids) <= 10 for s in result.segments)


def test_429_with_retry_after_is_honoured(fake, base_url):
    fake.add_records(2)
    fake.fault("esearch", "status", status=429, headers={"Retry-After": "3"})
    sleeps = Sleeps()
    client = make_client(base_url, sleeps)
    assert len(client.search("x").pmids) == 2
    assert len(fake.calls("esearch")) == 2
    assert 3.0 in sleeps  # the header's wait, not the tiny backoff of 0.01 s


def test_backoff_grows_exponentially_on_5xx(fake, base_url):
    fake.add_records(1)
    fake.fault("esearch", "status", status=502, times=3)
    sleeps = Sleeps()
    make_client(base_url, sleeps, retry_delays=(1.0, 2.0, 4.0)).search("x")
    assert [s for s in sleeps if s >= 1.0] == [1.0, 2.0, 4.0]


def test_a_500_in_the_middle_of_a_batch_is_retried(fake, base_url):
    pmids = fake.add_records(6)
    client = make_client(base_url)
    fake.fault("efetch", "status", status=500, after=1)
    first = client.fetch(FetchRequest(tuple(pmids[:3])))
    second = client.fetch(FetchRequest(tuple(pmids[3:])))
    assert [r.article.pmid for r in first.records + second.records] == pmids
    assert len(fake.calls("efetch")) == 3


def test_a_request_that_hangs_past_the_timeout_is_retried(fake, base_url):
    pmids = fake.add_records(2)
    fake.fault("efetch", "hang", seconds=3.0)
    client = make_client(base_url, timeout=0.3)
    result = client.fetch(FetchRequest(tuple(pmids)))
    assert [r.article.pmid for r in result.records] == pmids
    assert len(fake.calls("efetch")) == 2


def test_an_error_while_reading_the_body_is_retried(fake, base_url):
    pmids = fake.add_records(3)
    fake.fault("efetch", "broken_body")
    result = make_client(base_url).fetch(FetchRequest(tuple(pmids)))
    assert [r.article.pmid for r in result.records] == pmids
    assert len(fake.calls("efetch")) == 2


def test_truncated_xml_once_is_retried_whole(fake, base_url):
    pmids = fake.add_records(4)
    fake.fault("efetch", "truncate")
    result = make_client(base_url).fetch(FetchRequest(tuple(pmids)))
    assert [r.article.pmid for r in result.records] == pmids
    assert result.quarantined == []
    assert len(fake.calls("efetch")) == 2


def test_truncated_xml_for_good_is_split_until_the_record_is_isolated(fake, base_url):
    pmids = fake.add_records(8)
    bad = pmids[5]
    fake.truncate_record(bad)
    result = make_client(base_url, retry_delays=(0.0,)).fetch(FetchRequest(tuple(pmids)))
    assert sorted(r.article.pmid for r in result.records) == sorted(set(pmids) - {bad})
    (quarantined,) = result.quarantined
    assert quarantined.pmid == bad and quarantined.stage == "fetch"
    assert "ended inside record" in quarantined.error
    assert quarantined.payload.startswith(b"<?xml")
    assert f'<PMID Version="1">{bad}</PMID>'.encode() in quarantined.payload
    assert not quarantined.payload.rstrip().endswith(b"</PubmedArticleSet>")
    singles = [r for r in fake.calls("efetch") if fetched_pmids(r, fake) == [bad]]
    assert len(singles) == 2  # the isolated record was tried again before quarantine


def test_one_malformed_record_is_quarantined_with_its_bytes(fake, base_url):
    pmids = fake.add_records(5)
    fake.records[pmids[2]].malformed = True
    result = make_client(base_url).fetch(FetchRequest(tuple(pmids)))
    assert [r.article.pmid for r in result.records] == pmids[:2] + pmids[3:]
    (quarantined,) = result.quarantined
    assert quarantined.pmid == pmids[2] and quarantined.stage == "parse"
    assert quarantined.payload.startswith(b"<PubmedArticle>")
    assert b"Broken & " in quarantined.payload
    assert len(fake.calls("efetch")) == 1


def test_history_fetch_uses_webenv_and_retstart(fake, base_url):
    pmids = fake.add_records(5)
    client = make_client(base_url)
    (segment,) = client.search("x").segments
    request = FetchRequest(tuple(pmids[2:4]), segment.webenv, segment.query_key, 2)
    result = client.fetch(request)
    assert [r.article.pmid for r in result.records] == pmids[2:4]
    (call,) = fake.calls("efetch")
    assert call.params["WebEnv"] == segment.webenv
    assert (call.params["retstart"], call.params["retmax"]) == ("2", "2")
    assert call.params["rettype"] == "xml" and call.params["retmode"] == "xml"


def test_an_expired_history_falls_back_to_ids(fake, base_url):
    pmids = fake.add_records(3)
    request = FetchRequest(tuple(pmids), "MCID_gone", "1", 0)
    result = make_client(base_url, retry_delays=(0.0,)).fetch(request)
    assert [r.article.pmid for r in result.records] == pmids
    assert fake.calls("efetch")[-1].ids == pmids


def test_a_pmid_pubmed_does_not_return_is_quarantined_not_dropped(fake, base_url):
    pmids = fake.add_records(2)
    result = make_client(base_url).fetch(FetchRequest((*pmids, "99999999")))
    assert [r.article.pmid for r in result.records] == pmids
    (missing,) = result.quarantined
    assert missing.pmid == "99999999" and "no record" in missing.error


def test_large_id_batches_are_posted(fake, base_url):
    pmids = fake.add_records(250)
    result = make_client(base_url).fetch(FetchRequest(tuple(pmids)))
    assert len(result.records) == 250 and all(isinstance(r, ParsedRecord) for r in result.records)
    (call,) = fake.calls("efetch")
    assert call.method == "POST"


def test_an_error_element_in_esearch_is_not_trusted(fake, base_url):
    fake.add_records(2)
    fake.faults.clear()
    original = fake._esearch
    answers = iter([b"<eSearchResult><ERROR>Search Backend failed</ERROR></eSearchResult>"])
    fake._esearch = lambda request: next(answers, None) or original(request)
    assert len(make_client(base_url).search("x").pmids) == 2
    assert len(fake.calls("esearch")) == 2


def test_a_4xx_is_not_retried(fake, base_url):
    fake.fault("esearch", "status", status=400)
    with pytest.raises(EutilsError, match="HTTP 400"):
        make_client(base_url).search("x")
    assert len(fake.calls("esearch")) == 1


def test_an_unreachable_server_says_so_after_its_retries():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps = Sleeps()
    client = make_client(f"http://127.0.0.1:{port}/entrez/eutils/", sleeps)
    with pytest.raises(SourceUnavailableError, match="could not be reached.*snapshot"):
        client.search("x")
    assert [s for s in sleeps if s > 0] == [0.01, 0.02, 0.04]


def test_failed_responses_are_dumped_with_the_key_redacted(fake, base_url, tmp_path):
    fake.add_records(1)
    fake.fault("esearch", "status", status=503)
    make_client(base_url, dump_dir=tmp_path).search("x")
    (dump,) = tmp_path.iterdir()
    text = dump.read_bytes()
    assert b"status: 503" in text and b"api_key=REDACTED" in text
    assert API_KEY.encode() not in text


def test_policy_rate_limits_by_api_key():
    assert EntrezPolicy(email="a@b.c").interval == pytest.approx(1 / 3)
    assert EntrezPolicy(email="a@b.c", api_key="k").interval == pytest.approx(0.1)


def test_the_client_waits_between_requests(fake, base_url):
    fake.add_records(2)
    sleeps = Sleeps()
    make_client(base_url, sleeps, request_interval=10.0, search_page_size=1).search("x")
    assert len(sleeps) == 1 and sleeps[0] > 5.0  # the second esearch page waited


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/"


def _echo_key(request) -> bytes:
    return f'{{"error":"API key invalid","api-key":"{request.params["api_key"]}"}}'.encode()


def test_an_unreachable_server_error_does_not_quote_the_key(tmp_path):
    client = make_client(_closed_port_url(), dump_dir=tmp_path)
    with pytest.raises(SourceUnavailableError) as failure:
        client.search("x")  # a short term: the key travels in the URL
    assert "api_key=REDACTED" in str(failure.value) and API_KEY not in str(failure.value)
    for dump in tmp_path.iterdir():
        assert API_KEY.encode() not in dump.read_bytes()


def test_a_4xx_that_echoes_the_key_is_reported_without_it(fake, base_url, tmp_path):
    fake.fault("esearch", "status", status=400, body=_echo_key)
    with pytest.raises(EutilsError) as failure:
        make_client(base_url, dump_dir=tmp_path).search("x")
    assert "API key invalid" in str(failure.value) and API_KEY not in str(failure.value)
    (dump,) = tmp_path.iterdir()
    assert b'"api-key":"REDACTED"' in dump.read_bytes()


def test_an_invalid_answer_that_echoes_the_key_keeps_it_out_of_error_and_body(fake, base_url):
    fake.fault("efetch", "status", status=200, times=None, body=_echo_key)
    with pytest.raises(InvalidResponseError) as failure:
        make_client(base_url).efetch(FetchRequest(("1",)))
    assert API_KEY not in str(failure.value)
    assert API_KEY.encode() not in failure.value.body and b"REDACTED" in failure.value.body


def test_the_policy_repr_hides_the_key():
    assert API_KEY not in repr(EntrezPolicy(email="a@b.c", api_key=API_KEY))


def test_policy_from_environment(monkeypatch):
    monkeypatch.setenv("NCBI_EMAIL", "me@example.org")
    monkeypatch.setenv("NCBI_API_KEY", "k")
    monkeypatch.setenv("EUTILS_BASE_URL", "http://127.0.0.1:9/eutils")
    monkeypatch.setenv("EUTILS_TIMEOUT", "2.5")
    monkeypatch.setenv("EUTILS_RETRY_DELAYS", "0.1, 0.2")
    policy = EntrezPolicy.from_environment()
    assert policy.base_url == "http://127.0.0.1:9/eutils/"
    assert (policy.email, policy.api_key, policy.timeout) == ("me@example.org", "k", 2.5)
    assert policy.retry_delays == (0.1, 0.2)
