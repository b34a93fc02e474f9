"""Secrets kept out of everything the pipeline writes: messages, logs, dumps and stored rows.

The one secret the pipeline holds is the NCBI API key. It travels in every E-utilities URL,
so any text that may quote a request (a network error, a server's answer, a log line) goes
through `redact` before it is printed, logged, saved or stored. `redact` hides the value of
any api_key parameter, and the key itself (as given, URL-encoded, JSON- or HTML-escaped)
wherever it appears. The e-mail NCBI asks for is not a secret and is left as it is.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import quote, quote_plus

from pipeline import config

REDACTED = "REDACTED"

# api_key=VALUE in a URL or form, "api-key": "VALUE" in NCBI's JSON error answer.
_KEY_PARAMETER = re.compile(
    r"""(api[_-]key(?:=|["']?\s*:\s*["']?))[^&\s"'<>,;)}\]]+""", re.IGNORECASE
)


@lru_cache(maxsize=32)
def _forms(secret: str) -> tuple[str, ...]:
    """The ways a secret can be written in a URL, a JSON or HTML body, longest first."""
    forms = {
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        html.escape(secret),
        json.dumps(secret)[1:-1],
    }
    return tuple(sorted(forms, key=len, reverse=True))


def _secrets(extra: Iterable[str | None]) -> list[str]:
    found = [s for s in (*extra, config.ncbi_api_key()) if s]
    return list(dict.fromkeys(found))


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with every api_key value, `secrets` and the configured NCBI_API_KEY replaced."""
    text = _KEY_PARAMETER.sub(r"\1" + REDACTED, text)
    for secret in _secrets(secrets):
        for form in _forms(secret):
            text = text.replace(form, REDACTED)
    return text


def redact_bytes(data: bytes, secrets: Iterable[str | None] = ()) -> bytes:
    """`data` (a response body, a quarantined payload) with the same replacements as `redact`."""
    data = re.sub(_KEY_PARAMETER.pattern.encode(), rb"\1" + REDACTED.encode(), data, flags=re.I)
    for secret in _secrets(secrets):
        for form in _forms(secret):
            data = data.replace(form.encode("utf-8"), REDACTED.encode())
    return data


_previous_factory = None


def install_log_redaction() -> None:
    """Redact every log record as it is made (message, arguments and traceback), once."""
    global _previous_factory
    if _previous_factory is not None:
        return
    _previous_factory = logging.getLogRecordFactory()
    previous = _previous_factory
    formatter = logging.Formatter()

    def make_record(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format is logging's to report, not ours
            return record
        record.msg, record.args = redact(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(formatter.formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(make_record)
