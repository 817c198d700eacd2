"""Structured logs: one line per event, with the ``extra`` fields as key=value.

Roles log ``log.info("segment flushed", extra={"segment": 7, "rows": 100})``;
this formatter prints ``... segment flushed segment=7 rows=100`` so logs say
which collection, segment, channel or timestamp they are about.
"""

from __future__ import annotations

import logging
import sys

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        if fields:
            line += " " + " ".join(f"{k}={v}" for k, v in fields.items())
        return line


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # faiss reports at INFO which CPU build it loaded, three lines per process.
    logging.getLogger("faiss.loader").setLevel(logging.WARNING)
