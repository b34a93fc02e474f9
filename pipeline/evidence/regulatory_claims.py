"""Regulatory sentences (approvals, the boxed warning, REMS monitoring, home use) judged against
the bundled facts file: a wrong year or an approval that does not exist is contradicted, with the
fact and its source."""

from __future__ import annotations

import re
from datetime import date

from pipeline.evidence import regulatory
from pipeline.evidence.claims import (
    CONTRADICTED,
    NOT_FOUND,
    SUPPORTED,
    Verdict,
    timepoints_in,
)

_REGULATORY = re.compile(
    r"\b(FDA|Food and Drug Administration|approv\w*|indicated|licensed|REMS|boxed warning|"
    r"black[- ]box|certified|controlled substance|schedule III|off[- ]label|home use|"
    r"at home|take[- ]home)\b|\b(monitor\w*|observ\w*|watch\w*)\b.*\b(hours?|minutes?|after)\b",
    re.IGNORECASE,
)
_ESKETAMINE = re.compile(r"\b(es-?ketamine|spravato)\b|\bnasal spray\b", re.IGNORECASE)
_KETAMINE = re.compile(r"(?<![Ee]s)(?<![Ee]s-)\bketamine\b", re.IGNORECASE)
_NEGATION = re.compile(
    r"\b(not|never|no|isn't|wasn't|aren't|hasn't|haven't|doesn't|don't|didn't|cannot|can't|"
    r"neither|nor|without approval|unapproved)\b",
    re.IGNORECASE,
)
_FIRST = re.compile(r"\bfirst\b", re.IGNORECASE)
_YEAR = re.compile(r"\b(19[5-9]\d|20\d\d)\b")
_MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"], start=1)}  # fmt: skip
_MONTH = re.compile(r"\b(" + "|".join(_MONTHS) + r")\b", re.IGNORECASE)
_APPROVAL = re.compile(r"\b(approv\w*|indicated|licensed|cleared)\b", re.IGNORECASE)
_BOXED = re.compile(r"\b(boxed warning|black[- ]box)", re.IGNORECASE)
_HOME = re.compile(r"\b(at home|home use|take[- ]home|take it home|by themselves at home)\b", re.I)
_MONITOR = re.compile(r"\b(monitor\w*|observ\w*|watch\w*|stay\w*|remain\w*|REMS)\b", re.I)
_INDICATIONS = {
    "mdd_suicidal": re.compile(r"\bsuicid\w*", re.IGNORECASE),
    "trd": re.compile(r"\btreatment[- ]resistant\b|\bresistant depression\b|\bTRD\b", re.I),
}
_DEPRESSION = re.compile(r"\b(depress\w*|MDD)\b", re.IGNORECASE)
_PSYCHIATRIC = re.compile(
    r"\b(depress\w*|MDD|psychiatric|mental|mood|anxiety|PTSD|bipolar|OCD|suicid\w*|"
    r"schizophreni\w*|addiction|alcohol\w*|eating disorders?)\b",
    re.IGNORECASE,
)
_OTHER_INDICATION = re.compile(
    r"\b(anxiety|PTSD|post-traumatic|bipolar|OCD|obsessive|schizophreni\w*|pain|migraine|"
    r"alcohol\w*|addiction|eating disorders?|insomnia|adolescents?|children|teens?|postpartum)\b",
    re.IGNORECASE,
)
_ANESTHESIA = re.compile(r"\b(an(a)?esthe\w*|surgery|surgical|sedation for procedures)\b", re.I)
_MONOTHERAPY = re.compile(
    r"\b(monotherapy|on its own|alone|by itself|without (?:an|another|a second) "
    r"(?:oral )?(?:antidepressant|drug|medicine))\b",
    re.IGNORECASE,
)
_WITH_ORAL = re.compile(
    r"\b(with|plus|together with|in conjunction with|alongside|combined with|added to)\b"
    r"[^.;]{0,40}\bantidepressant",
    re.IGNORECASE,
)
_OTHER_ROUTE = re.compile(r"\b(IV|intravenous\w*|infusions?|tablets?|oral(ly)?|pills?|inject\w*)\b")
_RISKS = {
    "sedation": re.compile(r"\b(sedation|sedat\w*|sleep\w*|drows\w*)\b", re.IGNORECASE),
    "dissociation": re.compile(r"\b(dissociat\w*|detached|out-of-body)\b", re.IGNORECASE),
    "respiratory depression": re.compile(
        r"\b(respiratory depression|slow(ed)? breathing|breathing (problems|trouble))\b", re.I
    ),
    "abuse and misuse": re.compile(r"\b(abuse|misuse)\b", re.IGNORECASE),
    "suicidal thoughts and behaviors": re.compile(r"\bsuicid\w*", re.IGNORECASE),
}
_OTHER_RISKS = re.compile(
    r"\b(blood pressure|hypertension|liver|heart|cardiac|seizures?|death|bladder|cystitis|"
    r"addiction|overdose|psychosis|hallucinations?)\b",
    re.IGNORECASE,
)


def is_regulatory(sentence: str) -> bool:
    """The sentence is about approvals, labels, warnings or monitoring rules."""
    return bool(_REGULATORY.search(sentence))


def _evidence(fact: regulatory.Fact) -> dict:
    return {
        "fact_id": fact.id,
        "wording": fact.wording,
        "effective": fact.effective.isoformat(),
        "source": fact.source,
        "source_kind": fact.source_kind,
        "url": fact.url,
        "source_version": fact.source_version,
        "last_checked": fact.last_checked.isoformat(),
        "citation": fact.citation(),
        "matches": None,
    }


def _verdict(sentence, verdict, facts, reason, basis, today) -> Verdict:
    notice = regulatory.stale_notice(list(facts), today) if facts else None
    reason += f" ({'; '.join(f.citation() for f in facts)})" if facts else ""
    if notice:
        reason += f". {notice}"
    return Verdict(sentence, verdict, [_evidence(f) for f in facts], reason, basis)


def _drug(sentence: str) -> str | None:
    if _ESKETAMINE.search(sentence):
        return "esketamine"
    if _KETAMINE.search(sentence):
        return "ketamine"
    return None


def _hours(sentence: str) -> float | None:
    """The monitoring time the sentence states, in hours ("2 hours", "two hours", "30 minutes")."""
    for (number, unit), _, _ in timepoints_in(sentence):
        if unit == "hour":
            return float(number)
    minutes = re.search(r"\b(\d+)\s*(?:minutes?|mins?)\b", sentence)
    return int(minutes[1]) / 60 if minutes else None


def judge(sentence: str, facts: list[regulatory.Fact], basis: str, today: date) -> Verdict | None:
    """The verdict on a regulatory sentence, or None when the sentence is not regulatory."""
    if not is_regulatory(sentence):
        return None
    drug = _drug(sentence)
    unqualified = re.sub(r"\bno (more|fewer|less) than\b", "", sentence, flags=re.I)
    negated = bool(_NEGATION.search(unqualified))

    def verdict(kind: str, used: list[regulatory.Fact], reason: str) -> Verdict:
        return _verdict(sentence, kind, used, reason, basis, today)

    if drug is None:
        return verdict(NOT_FOUND, [], "it is a regulatory sentence, but it does not name the drug "
                       "(esketamine nasal spray or ketamine)")  # fmt: skip
    mine = [f for f in facts if f.drug == drug]
    if _BOXED.search(sentence):
        return _judge_boxed(sentence, mine, negated, verdict)
    if _HOME.search(sentence) and drug == "esketamine":
        home = [f for f in mine if f.topic == "home_use"]
        if negated:
            return verdict(SUPPORTED, home, "the REMS says it is never dispensed for home use")
        return verdict(CONTRADICTED, home, "the REMS says it must never be dispensed directly to "
                       "a patient for home use")  # fmt: skip
    if drug == "esketamine" and _MONITOR.search(sentence) and not _APPROVAL.search(sentence):
        return _judge_monitoring(sentence, mine, negated, verdict)
    if _APPROVAL.search(sentence):
        if drug == "ketamine":
            return _judge_ketamine(sentence, mine, negated, verdict)
        return _judge_approval(sentence, mine, negated, verdict)
    return verdict(NOT_FOUND, [], "it is a regulatory sentence, but the facts file has no fact "
                   "on what it states")  # fmt: skip


def _judge_boxed(sentence, facts, negated, verdict) -> Verdict:
    current = [f for f in facts if f.topic == "boxed_warning"]
    if not current:
        return verdict(NOT_FOUND, [], "the facts file has no boxed warning for this drug")
    named = [risk for risk, pattern in _RISKS.items() if pattern.search(sentence)]
    years = [int(y) for y in _YEAR.findall(sentence)]
    if years and min(years) <= 2019:  # the first label's warning
        current = [f for f in facts if f.topic == "boxed_warning_history"] or current
    risks = set(current[0].risks)
    if _OTHER_RISKS.search(sentence) and not negated:
        return verdict(CONTRADICTED, current, f"the boxed warning lists {', '.join(sorted(risks))} "
                       f"and not {_OTHER_RISKS.search(sentence)[0]}")  # fmt: skip
    if not named:
        if negated:
            return verdict(CONTRADICTED, current, "the label has a boxed warning")
        return verdict(SUPPORTED, current, "the label has a boxed warning")
    missing = [r for r in named if r not in risks]
    if negated:
        if missing and len(missing) == len(named):
            return verdict(SUPPORTED, current, f"that boxed warning does not list {missing[0]}")
        return verdict(CONTRADICTED, current, f"the boxed warning lists {', '.join(named)}")
    if missing:
        return verdict(CONTRADICTED, current, f"that boxed warning does not list "
                       f"{', '.join(missing)}")  # fmt: skip
    return verdict(SUPPORTED, current, f"the boxed warning lists {', '.join(named)}")


def _judge_monitoring(sentence, facts, negated, verdict) -> Verdict:
    rems = [f for f in facts if f.topic == "monitoring"]
    if not rems:
        return verdict(NOT_FOUND, [], "the facts file has no monitoring rule for this drug")
    required = float(rems[0].hours)
    if negated:
        return verdict(CONTRADICTED, rems, f"patients must be monitored for at least "
                       f"{required:g} hours after each dose")  # fmt: skip
    hours = _hours(sentence)
    if hours is None:
        return verdict(SUPPORTED, rems, "patients are monitored after each dose")
    upper = re.search(r"\b(up to|at most|no more than|only|just|under|less than)\b", sentence, re.I)
    if hours == required and not upper:
        return verdict(SUPPORTED, rems, f"patients are monitored for at least {required:g} hours")
    return verdict(CONTRADICTED, rems, f"the REMS says at least {required:g} hours and until the "
                   f"patient is stable, not {sentence_hours(hours)}")  # fmt: skip


def sentence_hours(hours: float) -> str:
    """'30 minutes' or '3 hours' as the sentence's time reads."""
    return f"{hours * 60:g} minutes" if hours < 1 else f"{hours:g} hours"


def _judge_ketamine(sentence, facts, negated, verdict) -> Verdict:
    not_approved = [f for f in facts if f.topic == "not_approved"]
    anesthetic = [f for f in facts if f.topic == "anesthetic"]
    if _PSYCHIATRIC.search(sentence):
        if negated:
            return verdict(SUPPORTED, not_approved, "ketamine is not FDA approved for any "
                           "psychiatric disorder")  # fmt: skip
        return verdict(CONTRADICTED, not_approved, "the FDA says ketamine is not approved for "
                       "the treatment of any psychiatric disorder")  # fmt: skip
    if _ANESTHESIA.search(sentence):
        if negated:
            return verdict(CONTRADICTED, anesthetic, "approved ketamine products are anesthetics")
        return verdict(SUPPORTED, anesthetic, "approved ketamine products are anesthetics")
    return verdict(NOT_FOUND, [], "it does not say what ketamine is (or is not) approved for")


def _judge_approval(sentence, facts, negated, verdict) -> Verdict:
    approvals = [f for f in facts if f.topic == "approval"]
    if not approvals:
        return verdict(NOT_FOUND, [], "the facts file has no approval for this drug")
    if _OTHER_ROUTE.search(sentence):
        if negated:
            return verdict(NOT_FOUND, approvals, "the facts file lists only the nasal spray's "
                           "approvals")  # fmt: skip
        return verdict(CONTRADICTED, approvals, "only the nasal spray is approved")
    other = _OTHER_INDICATION.search(sentence)
    if other and not _DEPRESSION.search(sentence):
        if negated:
            return verdict(NOT_FOUND, approvals, f"the facts file lists its approvals, and none "
                           f"for {other[0]}, but does not state the negation")  # fmt: skip
        return verdict(CONTRADICTED, approvals, f"no approval for {other[0]} exists in the "
                       f"facts file; its approvals are listed")  # fmt: skip
    named = [name for name, pattern in _INDICATIONS.items() if pattern.search(sentence)]
    candidates = [f for f in approvals if not named or f.indication in named]
    if _MONOTHERAPY.search(sentence):
        candidates = [f for f in candidates if f.use == "monotherapy"]
    elif _WITH_ORAL.search(sentence):
        candidates = [f for f in candidates if f.use != "monotherapy"]
    if negated:
        if candidates:
            return verdict(CONTRADICTED, candidates, "it is approved for this")
        return verdict(NOT_FOUND, approvals, "the facts file does not state the negation")
    if not candidates:
        return verdict(CONTRADICTED, approvals, "no such approval exists in the facts file")
    years = [int(y) for y in _YEAR.findall(sentence)]
    months = [_MONTHS[m.lower()] for m in _MONTH.findall(sentence)]
    if _FIRST.search(sentence):
        first = min(approvals, key=lambda f: f.effective)
        if first not in candidates:
            return verdict(CONTRADICTED, [first], "the first approval was a different one")
        candidates = [first]
    if not years:
        return verdict(SUPPORTED, candidates, "the facts file lists this approval")
    fitting = [
        f for f in candidates
        if f.effective.year in years and (not months or f.effective.month in months)
    ]  # fmt: skip
    if fitting:
        return verdict(SUPPORTED, fitting, "the facts file lists this approval with this date")
    dates = ", ".join(f.effective.strftime("%B %Y") for f in candidates)
    return verdict(CONTRADICTED, candidates, f"the date is wrong: the facts file gives {dates}")
