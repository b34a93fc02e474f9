"""The review of extracted effects: unreviewed -> verified | rejected, by a named person.

Decisions live in `core.effect_reviews` (current) and `core.effect_review_log` (every one), keyed
by the effect's identity (sha1 of pmid|kind|start|end). A decision stores the value, CI, quote and
extractor version reviewed: when a later extraction of the same span gives a different value, CI
or quote, the decision is flagged for re-review and no longer counts; an unchanged one is kept
whatever the extractor version. Only verified, unflagged effects reach patient materials.
Effects are read with reviewers' corrections applied (`pipeline.evidence.corrections`); a
correction made on a quote that has changed since flags its effect in the same way.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TextIO

import numpy as np
import pandas as pd

from pipeline import warehouse
from pipeline.errors import PipelineError, UsageError
from pipeline.evidence import corrections

log = logging.getLogger(__name__)

UNREVIEWED, VERIFIED, REJECTED = "unreviewed", "verified", "rejected"
DECISIONS = (VERIFIED, REJECTED)
STATUSES = (UNREVIEWED, VERIFIED, REJECTED)


def current_effects(con, pmids: Sequence[str] | None = None) -> pd.DataFrame:
    """The extracted effects now in core.effects, with their article's abstract and retraction flag.

    Columns: those of `pipeline.extract.store.read_effects` (`quote` is abstract[start:end]) with
    reviewers' corrections applied (`corrections.read_current_effects`), plus `abstract` and
    `is_retracted`. Raises PipelineError when there is no effects table.
    """
    effects = corrections.read_current_effects(con, pmids)
    articles = con.execute(
        "SELECT pmid, abstract, is_retracted FROM core.articles WHERE list_contains(?, pmid)",
        [sorted(set(effects.pmid))],
    ).df()
    return effects.merge(articles, on="pmid", how="left", validate="many_to_one")


def _same_number(a, b) -> bool:
    """Equal within 1e-9, NULL equal to NULL only."""
    a_missing = _none_if_nan(a) is None
    b_missing = _none_if_nan(b) is None
    if a_missing or b_missing:
        return a_missing and b_missing
    return abs(float(a) - float(b)) <= 1e-9


def _rereview_reason(row: pd.Series) -> str | None:
    """Why a recorded decision no longer fits the current extraction (None when it does)."""
    reasons = []
    if row.reviewed_quote != row.quote:
        reasons.append(f"the quote changed from {row.reviewed_quote!r} to {row.quote!r}")
    for column in ("value", "ci_low", "ci_high"):
        before = row[f"reviewed_{column}"]
        if not _same_number(row[column], before):
            reasons.append(f"{column} changed from {_number(before)} to {_number(row[column])}")
    if not reasons:
        return None
    version = _none_if_nan(row.reviewed_extractor_version) or "(unknown)"
    return f"reviewed under extractor {version}: " + "; ".join(reasons)


_REVIEW_COLUMNS = [
    "effect_id", "status", "reviewed_value", "reviewed_ci_low", "reviewed_ci_high", "quote",
    "reviewed_extractor_version", "reviewer", "reviewed_at", "note",
]  # fmt: skip


def _stale_correction_reason(row: pd.Series) -> str | None:
    """Corrections made on a quote that has changed since, unless a decision was recorded on the
    current quote after them (the reviewer has seen the effect without them)."""
    stale = row.get("stale_corrections")
    if not isinstance(stale, list) or not stale:
        return None
    decided_at = _none_if_nan(row.get("reviewed_at"))
    decided_on_current = row.status != UNREVIEWED and row.reviewed_quote == row.quote
    reasons = [
        reason
        for _, corrected_at, reason in stale
        if not (decided_on_current and decided_at is not None and decided_at >= corrected_at)
    ]
    return "; ".join(reasons) or None


def _combined_reason(*reasons: str | None) -> str | None:
    kept = [r for r in reasons if r]
    return "; ".join(kept) or None


def effect_statuses(con, pmids: Sequence[str] | None = None) -> pd.DataFrame:
    """Every current effect with its review: `status`, `needs_rereview`, `rereview_reason`,
    `reviewer`, `reviewed_at`, `note`, `reviewed_extractor_version`; and its corrections:
    `correction_provenance` (lines of those that apply) and `stale_corrections`."""
    effects = current_effects(con, pmids)
    reviewed = (
        "SELECT effect_id, status, value AS reviewed_value, ci_low AS reviewed_ci_low, "
        "ci_high AS reviewed_ci_high, quote, extractor_version AS reviewed_extractor_version, "
        "reviewer, reviewed_at, note FROM core.effect_reviews"
    )
    if warehouse.table_columns(con, "core.effect_reviews"):
        reviews = con.execute(reviewed).df()
    else:  # a warehouse opened read-only before migration 040: nothing reviewed yet
        reviews = pd.DataFrame(columns=_REVIEW_COLUMNS)
    merged = effects.merge(
        reviews.rename(columns={"quote": "reviewed_quote"}), on="effect_id", how="left"
    )
    merged["status"] = merged["status"].fillna(UNREVIEWED)
    merged = merged.merge(registry_checks(con), on="effect_id", how="left")
    merged = merged.merge(corrections.corrections_by_effect(con), on="effect_id", how="left")
    for column in ("correction_provenance", "stale_corrections"):
        merged[column] = [v if isinstance(v, list) else [] for v in merged[column]]
    merged["rereview_reason"] = [
        _combined_reason(
            None if row.status == UNREVIEWED else _rereview_reason(row),
            _stale_correction_reason(row),
        )
        for _, row in merged.iterrows()
    ]
    # an unreviewed effect is in the queue anyway; its reason still says what changed
    merged["needs_rereview"] = merged["rereview_reason"].notna() & (merged.status != UNREVIEWED)
    return merged


REGISTRY_CHECK_COLUMNS = ["effect_id", "registry_check", "registry_detail", "registry_nct_id"]


def registry_checks(con) -> pd.DataFrame:
    """The registry cross-check of each effect (agrees / differs / no_counterpart) and its detail;
    empty when the warehouse has no cross-check yet."""
    if not warehouse.table_columns(con, "marts.registry_crosscheck"):
        return pd.DataFrame(columns=REGISTRY_CHECK_COLUMNS)
    return con.execute(
        "SELECT effect_id, status AS registry_check, detail AS registry_detail, "
        "nct_id AS registry_nct_id FROM marts.registry_crosscheck"
    ).df()


def registry_line(effect: pd.Series) -> str | None:
    """What the registry says about an effect, for the reviewer; None when nothing was compared."""
    status = _none_if_nan(effect.get("registry_check"))
    nct_id = _none_if_nan(effect.get("registry_nct_id"))
    if status is None or (status == "no_counterpart" and not nct_id):
        return None
    where = nct_id or "the registry"
    if status == "differs":
        return f"registry {where} DIFFERS: {effect.registry_detail} (check before verifying)"
    return f"registry {where}: {effect.registry_detail}"


def verified_effects(con, pmids: Sequence[str] | None = None) -> pd.DataFrame:
    """The effects patient materials may use: verified, unchanged since, not from a retraction."""
    statuses = effect_statuses(con, pmids)
    keep = (
        (statuses["status"] == VERIFIED)
        & ~statuses["needs_rereview"]
        & ~statuses["is_retracted"].fillna(False).astype(bool)
    )
    return statuses[keep].reset_index(drop=True)


def review_queue(con, pmids: Sequence[str] | None = None) -> pd.DataFrame:
    """Effects waiting for a person: unreviewed ones and decisions flagged for re-review."""
    statuses = effect_statuses(con, pmids)
    waiting = (statuses["status"] == UNREVIEWED) | statuses["needs_rereview"]
    return statuses[waiting].reset_index(drop=True)


def orphaned_reviews(con) -> pd.DataFrame:
    """Recorded decisions whose effect is no longer extracted (its span or kind changed)."""
    current = current_effects(con)[["effect_id"]]  # noqa: F841 - read by DuckDB
    return con.execute(
        "SELECT * FROM core.effect_reviews WHERE effect_id NOT IN (SELECT effect_id FROM current)"
    ).df()


def review_summary(con, pmids: Sequence[str] | None = None) -> dict[str, int]:
    """Counts of effects by status, plus those flagged for re-review."""
    statuses = effect_statuses(con, pmids)
    counts = {status: int((statuses["status"] == status).sum()) for status in STATUSES}
    counts["needs_rereview"] = int(statuses["needs_rereview"].sum())
    return counts


@dataclass(frozen=True)
class Decision:
    """One reviewer decision about one effect."""

    effect_id: str
    decision: str  # 'verified' | 'rejected' | 'unreviewed' (a reset)
    note: str | None = None


def record_decisions(con, decisions: Iterable[Decision], reviewer: str) -> int:
    """Record decisions in one transaction (all or none); returns how many were recorded.

    Each effect must be in core.effects now; the value, CI, quote and extractor version it has
    now are stored with the decision. 'unreviewed' removes a decision (the log keeps it).
    """
    reviewer = (reviewer or "").strip()
    if not reviewer:
        raise UsageError("a review decision needs the reviewer's name (--reviewer)")
    decisions = list(decisions)
    if not decisions:
        return 0
    for item in decisions:
        if item.decision not in (*DECISIONS, UNREVIEWED):
            raise UsageError(
                f"unknown decision {item.decision!r} for effect {item.effect_id}: "
                f"use verified, rejected or unreviewed"
            )
    effects = current_effects(con).set_index("effect_id")
    unknown = [d.effect_id for d in decisions if d.effect_id not in effects.index]
    if unknown:
        raise PipelineError(f"no extracted effect with id {', '.join(unknown[:5])}")
    at = warehouse.now()
    with warehouse.transaction(con):
        for item in decisions:
            effect = effects.loc[item.effect_id]
            snapshot = [
                _none_if_nan(effect.value),
                _none_if_nan(effect.ci_low),
                _none_if_nan(effect.ci_high),
                effect.quote,
                _none_if_nan(effect.extractor_version),
            ]
            con.execute("DELETE FROM core.effect_reviews WHERE effect_id = ?", [item.effect_id])
            if item.decision != UNREVIEWED:
                con.execute(
                    "INSERT INTO core.effect_reviews VALUES "
                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [item.effect_id, effect.pmid, effect.kind, int(effect.start), int(effect.end),
                     item.decision, *snapshot, reviewer, at, item.note],
                )  # fmt: skip
            con.execute(
                "INSERT INTO core.effect_review_log (effect_id, pmid, decision, value, ci_low, "
                "ci_high, quote, extractor_version, reviewer, reviewed_at, note) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [item.effect_id, effect.pmid, item.decision, *snapshot, reviewer, at, item.note],
            )
    log.debug("recorded %d review decision(s) by %s", len(decisions), reviewer)
    return len(decisions)


def record_decision(
    con, effect_id_: str, decision: str, reviewer: str, note: str | None = None
) -> None:
    """Record one decision (see record_decisions)."""
    record_decisions(con, [Decision(effect_id_, decision, note)], reviewer)


def _none_if_nan(value):
    """None for a missing value (None, NaN, pandas NA); numpy scalars as Python ones."""
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


# --- showing an effect in its sentence --------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[])")


def sentence_around(abstract: str, start: int, end: int) -> tuple[str, int]:
    """The sentence of the abstract holding [start, end) and the offset where it begins."""
    begin = 0
    for match in _SENTENCE_END.finditer(abstract, 0, start):
        begin = match.end()
    stop = len(abstract)
    following = _SENTENCE_END.search(abstract, end)
    if following:
        stop = following.start()
    return abstract[begin:stop], begin


def mark_span(abstract: str, start: int, end: int, *, ansi: bool = False) -> str:
    """The sentence holding the span, the span marked »like this« (reverse video when `ansi`)."""
    sentence, offset = sentence_around(abstract, start, end)
    left, right = ("\x1b[7m", "\x1b[0m") if ansi else ("»", "«")
    a, b = start - offset, end - offset
    return sentence[:a] + left + sentence[a:b] + right + sentence[b:]


def mark_span_html(abstract: str, start: int, end: int) -> str:
    """The sentence holding the span as escaped HTML, the span in <mark>."""
    sentence, offset = sentence_around(abstract, start, end)
    a, b = start - offset, end - offset
    return (
        html.escape(sentence[:a]) + "<mark>" + html.escape(sentence[a:b]) + "</mark>"
        + html.escape(sentence[b:])
    )  # fmt: skip


def _listed(value) -> list:
    """A list column's cell as a list (None or NaN: empty)."""
    return list(value) if isinstance(value, list | tuple | np.ndarray) else []


def describe_effect(effect: pd.Series) -> str:
    """One line: kind, label, value, CI, p, arm, comparator, subgroup, timepoint, scale and a
    corrected n (what is set); a reviewer's correction is marked '(corrected)'."""
    text = f"{effect.kind}"
    if _none_if_nan(effect.label):
        text += f" ({effect.label})"
    text += f" = {_number(effect.value)}"
    if _none_if_nan(effect.ci_low) is not None or _none_if_nan(effect.ci_high) is not None:
        text += f", CI {_number(effect.ci_low)} to {_number(effect.ci_high)}"
    if _none_if_nan(effect.p) is not None:
        text += f", p {_none_if_nan(effect.p_operator) or '='} {_number(effect.p)}"
    corrected = set(_listed(effect.get("corrected_fields")))
    for name in ("arm", "comparator", "subgroup", "timepoint", "scale"):
        if _none_if_nan(effect.get(name)):
            text += f"; {name}: {effect[name]}" + (" (corrected)" if name in corrected else "")
    if "n" in corrected:
        text += f"; n: {_number(effect.n_total)} (corrected)"
    return text


def _number(value) -> str:
    value = _none_if_nan(value)
    if value is None:
        return "?"
    return repr(float(value)).removesuffix(".0") if isinstance(value, float | int) else str(value)


PROMPT = (
    "[v]erify  [r]eject  [c]orrect  [s]kip  [q]uit "
    "(a note after v or r: 'r wrong arm'; 'c arm=placebo; n=12; note=...') > "
)
CORRECTION_HELP = (
    "correct with 'c field=value; field=value; note=...' on one line, or 'c' alone and then one "
    "field=value per line ending with an empty line; fields: " + ", ".join(corrections.FIELDS)
)


def _read_correction(answer: str, stdin: TextIO, stdout: TextIO, echo: bool):
    """The corrections and note of a 'c' answer: its one-line form, or the field=value lines
    that follow a bare 'c' up to an empty line or the end of input."""
    if answer.strip():
        return corrections.parse_line(answer)
    lines = []
    while True:
        stdout.write("  field=value (empty line to finish) > ")
        stdout.flush()
        line = stdin.readline()
        if echo or not line:
            stdout.write(line.rstrip("\n") + "\n")
        if not line.strip():
            return corrections.parse_assignments(lines)
        lines.append(line.rstrip("\n"))


def _corrected_again(con, effect: pd.Series) -> pd.Series:
    """The effect as it reads now that a correction is recorded."""
    current = corrections.read_current_effects(con, [effect.pmid])
    row = current[current.effect_id == effect.effect_id].iloc[0]
    values = effect.to_dict()
    for column in ("arm", "timepoint", "n_total", *corrections.EXTRA_COLUMNS):
        values[column] = row[column]
    return pd.Series(values, dtype=object)


def interactive_review(
    con,
    queue: pd.DataFrame,
    reviewer: str,
    *,
    stdin: TextIO,
    stdout: TextIO,
    ansi: bool = False,
    echo: bool = False,
) -> dict[str, int]:
    """Walk the queue in the terminal; each decision is saved as soon as it is made.

    Reads one line per effect ('v', 'r', 's', 'q', optionally followed by a note); end of input
    quits; `echo` repeats each answer (for input that is not typed at a terminal). 'c' records
    corrections (see CORRECTION_HELP) and shows the effect again for its decision; a correction
    that cannot be recorded is said and asked again at a terminal, and stops the review with
    UsageError when the input is not typed (`echo`), so that no later line lands on the wrong
    effect. Returns counts of verified, rejected and skipped effects and corrected fields.
    """
    if not (reviewer or "").strip():
        raise UsageError("a review needs the reviewer's name (--reviewer)")
    counts = {VERIFIED: 0, REJECTED: 0, "skipped": 0, "corrected": 0}
    total = len(queue)
    for index, (_, effect) in enumerate(queue.iterrows(), start=1):
        stdout.write(f"\n[{index}/{total}] PMID {effect.pmid}  effect {effect.effect_id[:12]}\n")
        stdout.write(f"  {describe_effect(effect)}\n")
        if effect.get("needs_rereview"):
            stdout.write(f"  re-review: {effect.rereview_reason}\n")
        if registry := registry_line(effect):
            stdout.write(f"  {registry}\n")
        stdout.write(f"  {mark_span(effect.abstract, effect.start, effect.end, ansi=ansi)}\n")
        while True:
            stdout.write(PROMPT)
            stdout.flush()
            line = stdin.readline()
            if echo or not line:
                stdout.write(line.rstrip("\n") + "\n")
            if not line:
                return counts
            answer, _, note = line.strip().partition(" ")
            answer = answer.lower()
            if answer in ("v", "r"):
                decision = VERIFIED if answer == "v" else REJECTED
                record_decision(con, effect.effect_id, decision, reviewer, note.strip() or None)
                counts[decision] += 1
                break
            if answer == "s":
                counts["skipped"] += 1
                break
            if answer == "q":
                return counts
            if answer == "c":
                try:
                    fields, why = _read_correction(note, stdin, stdout, echo)
                    counts["corrected"] += corrections.record_corrections(
                        con, effect.effect_id, fields, reviewer, why
                    )
                except PipelineError as error:
                    if echo:
                        raise UsageError(
                            f"correction of effect {effect.effect_id[:12]} (PMID {effect.pmid}) "
                            f"refused: {error}"
                        ) from None
                    stdout.write(f"  {error}\n  {CORRECTION_HELP}\n")
                    continue
                effect = _corrected_again(con, effect)
                stdout.write(f"  now: {describe_effect(effect)}\n")
                continue
            stdout.write(f"  {line.strip()!r} is not one of v, r, c, s, q\n")
    return counts
