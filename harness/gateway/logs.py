"""Request ids in logs: every record the gateway logs while serving a request carries its id.

The middleware sets :data:`REQUEST_ID`; tasks started by the handler (the heartbeat) inherit it.
:class:`RequestIdFilter` copies it onto each record as ``request_id`` for formatters
(``%(request_id)s``), and :data:`LOG_FORMAT` is what the CLI prints.
"""

from __future__ import annotations

import contextvars
import logging
import os
import re

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("gateway_request_id", default="-")
LOGGER_NAME = "harness.gateway"
LOG_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(message)s"
_CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_for(incoming: str | None) -> str:
    """The client's X-Request-Id when it is a sane token, else a fresh one."""
    if incoming and _CLIENT_ID_RE.match(incoming):
        return incoming
    return "req_" + os.urandom(16).hex()  # as random as uuid4().hex, without building a UUID


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


def gateway_logger() -> logging.Logger:
    logger = logging.getLogger(LOGGER_NAME)
    if not any(isinstance(f, RequestIdFilter) for f in logger.filters):
        logger.addFilter(RequestIdFilter())
    return logger


def configure_cli_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
