"""The post-ingest steps: typed, in a list the reader sees, run in order."""

from __future__ import annotations

import logging

from pipeline import post_ingest
from pipeline.clinic.demo import ensure_clinic_data
from pipeline.marts import refresh_after_ingest
from pipeline.registry.ingest import ingest_after_pubmed


def test_the_steps_and_their_order():
    steps = post_ingest.POST_INGEST_STEPS
    assert [s.name for s in steps] == ["extraction", "clinic data", "registry", "marts"]
    assert all(isinstance(s, post_ingest.PostIngestStep) and s.purpose for s in steps)


def test_each_step_calls_its_stage(monkeypatch):
    called = []
    for module, name in (
        (post_ingest, "extract_articles"),
        (post_ingest, "ensure_clinic_data"),
        (post_ingest, "ingest_after_pubmed"),
    ):
        monkeypatch.setattr(module, name, lambda con, _n=name, **kw: called.append((_n, kw)) or 0)
    monkeypatch.setattr(post_ingest.marts, "refresh_after_ingest", lambda con: "marts: done")
    messages = post_ingest.run_post_ingest_steps(None, workers=2)
    assert called == [
        ("extract_articles", {"workers": 2}),
        ("ensure_clinic_data", {}),
        ("ingest_after_pubmed", {}),
    ]
    assert messages[-1] == "marts: done"
    assert ensure_clinic_data and ingest_after_pubmed and refresh_after_ingest


def test_steps_run_in_order_and_each_sentence_is_logged_once(caplog):
    order = []
    steps = (
        post_ingest.PostIngestStep("a", "first", lambda c, o: order.append("a") or "a done"),
        post_ingest.PostIngestStep(
            "b", "second", lambda c, o: order.append("b") or "b done", logs_itself=True
        ),
    )
    with caplog.at_level(logging.INFO, logger="pipeline.post_ingest"):
        assert post_ingest.run_post_ingest_steps(None, steps) == ["a done", "b done"]
    assert order == ["a", "b"]
    assert [r.getMessage() for r in caplog.records] == ["a done"]
