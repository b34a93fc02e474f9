"""What `python -m pipeline ingest` runs after the articles are loaded, in order.

Each step is a `PostIngestStep`: a name, what it is for, and the function that runs it. The
list `POST_INGEST_STEPS` below is the whole sequence; a step that is not written cannot be
listed (its import fails), so none is ever silently skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pipeline import marts
from pipeline.clinic.demo import ensure_clinic_data
from pipeline.extract import EXTRACTOR_VERSION
from pipeline.extract.store import extract_articles
from pipeline.registry.ingest import ingest_after_pubmed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepOptions:
    """What every step may use: the number of worker processes for CPU-bound work."""

    workers: int = 1


@dataclass(frozen=True)
class PostIngestStep:
    """One step after the load: `run(con, options)` returns the sentence that reports it;
    `logs_itself` when the step has already logged a fuller report of its own."""

    name: str
    purpose: str
    run: Callable[[object, StepOptions], str]
    logs_itself: bool = False


def _extraction(con, options: StepOptions) -> str:
    n = extract_articles(con, workers=options.workers)
    return f"extraction {EXTRACTOR_VERSION}: {n} articles (re)extracted"


def _clinic(con, options: StepOptions) -> str:
    return ensure_clinic_data(con)


def _registry(con, options: StepOptions) -> str:
    return ingest_after_pubmed(con)


def _marts(con, options: StepOptions) -> str:
    return marts.refresh_after_ingest(con)


POST_INGEST_STEPS: tuple[PostIngestStep, ...] = (
    PostIngestStep(
        "extraction",
        "trial facts and effects of new or changed articles",
        _extraction,
        logs_itself=True,
    ),  # fmt: skip
    PostIngestStep("clinic data", "the clinic export, or synthetic demo data", _clinic),
    PostIngestStep(
        "registry", "ClinicalTrials.gov results (offline: the snapshot), cross-checked", _registry
    ),
    PostIngestStep("marts", "trial outcomes and pooled estimates of the trials touched", _marts),
)


def run_post_ingest_steps(
    con, steps: Sequence[PostIngestStep] = POST_INGEST_STEPS, *, workers: int = 1
) -> list[str]:
    """Run the steps in order, logging each one's sentence once as it ends; returns them."""
    options = StepOptions(workers=workers)
    messages = []
    for step in steps:
        log.debug("post-ingest step %s: %s", step.name, step.purpose)
        message = step.run(con, options)
        if not step.logs_itself:
            log.info(message)
        messages.append(message)
    return messages
