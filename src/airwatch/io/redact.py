"""Keep credentials out of messages and logs: EPA's APIs take them as URL query parameters."""

from __future__ import annotations

import logging
import re

_SECRET_QUERY = re.compile(r"((?:^|[?&])(?:email|key|api_key)=)[^&\"'\s]*", re.IGNORECASE)


def redact(text: str) -> str:
    """Replace the values of email=, key= and API_KEY= query parameters in a URL or message."""
    return _SECRET_QUERY.sub(r"\1REDACTED", text)


class RedactFilter(logging.Filter):
    """httpx logs every request URL at INFO (and httpcore at DEBUG), credentials included."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = record.msg % record.args
            record.args = None
        record.msg = redact(str(record.msg))
        return True


_FILTER = RedactFilter()


def install_log_redaction() -> None:
    """Redact the HTTP client libraries' log records (idempotent)."""
    for name in ("httpx", "httpcore", "httpcore.http11", "httpcore.connection"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
