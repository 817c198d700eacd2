"""Turning what a handler raises into the Status the client reads.

Every RPC handler is wrapped by :func:`rpc`: an ElanusError becomes its Status,
anything else an InternalError Status with the reason logged here (never a
stack trace to the client), so each handler only writes its success path.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from elanus import errors
from proto.public import common_pb2
from proxy import convert

log = logging.getLogger(__name__)

R = TypeVar("R")


def rpc(response_type: type | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wrap a handler; ``response_type`` None means the RPC answers a bare Status."""

    def decorate(handler: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(handler)
        def wrapper(self: Any, request: Any, context: Any) -> Any:
            try:
                result = handler(self, request, context)
                if response_type is None:
                    return result if result is not None else convert.status()
                return result
            except errors.ElanusError as exc:
                log.info(
                    "request refused",
                    extra={"rpc": handler.__name__, "code": exc.code, "reason": exc.reason},
                )
                return _failure(response_type, exc)
            except Exception as exc:
                log.exception("request failed", extra={"rpc": handler.__name__})
                return _failure(response_type, errors.InternalError(f"{type(exc).__name__}: {exc}"))

        return wrapper

    return decorate


def _failure(response_type: type | None, exc: errors.ElanusError) -> Any:
    status = convert.status(exc)
    if response_type is None or response_type is common_pb2.Status:
        return status
    return response_type(status=status)
