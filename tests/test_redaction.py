"""One redaction for the API key: parameters, the key in its written forms, log records."""

from __future__ import annotations

import logging

import pytest

from pipeline.redaction import install_log_redaction, redact, redact_bytes

KEY = "Se/cr+et&Key=42"


@pytest.fixture(autouse=True)
def no_configured_key(monkeypatch):
    monkeypatch.delenv("NCBI_API_KEY", raising=False)


def test_api_key_parameters_are_redacted_whatever_their_value():
    assert redact("a?api_key=abc&x=1") == "a?api_key=REDACTED&x=1"
    assert redact('{"api-key":"abc","type":"invalid"}') == '{"api-key":"REDACTED","type":"invalid"}'
    assert redact("api_key=REDACTED") == "api_key=REDACTED"  # idempotent


@pytest.mark.parametrize(
    "written",
    [KEY, "Se%2Fcr%2Bet%26Key%3D42", "Se/cr+et&amp;Key=42"],
    ids=["as given", "URL-encoded", "HTML-escaped"],
)
def test_the_key_is_redacted_in_each_written_form(written):
    assert redact(f"before {written} after", [KEY]) == "before REDACTED after"
    assert redact_bytes(f"<b>{written}</b>".encode(), [KEY]) == b"<b>REDACTED</b>"


def test_the_configured_key_is_always_redacted(monkeypatch):
    monkeypatch.setenv("NCBI_API_KEY", "configured-key-77")
    assert redact("x configured-key-77 y") == "x REDACTED y"
    assert redact_bytes(b"configured-key-77") == b"REDACTED"


def test_text_without_a_secret_is_unchanged():
    text = "esearch failed (HTTP 503 Service Unavailable); email=me@example.org&tool=x"
    assert redact(text, [None]) == text


def test_log_records_are_redacted_with_their_arguments_and_traceback(monkeypatch, caplog):
    monkeypatch.setenv("NCBI_API_KEY", "configured-key-77")
    install_log_redaction()
    install_log_redaction()  # a second call changes nothing
    logger = logging.getLogger("pipeline.test_redaction")
    with caplog.at_level(logging.INFO):
        logger.info("fetching %s", "http://x/?api_key=configured-key-77&db=pubmed")
        try:
            raise RuntimeError("failed with configured-key-77")
        except RuntimeError:
            logger.exception("boom")
    assert "configured-key-77" not in caplog.text
    assert "fetching http://x/?api_key=REDACTED&db=pubmed" in caplog.text
    assert "failed with REDACTED" in caplog.text
