"""Errors across the wire: a remote role fails exactly like a local one.

The callee answers an :class:`~elanus.errors.ElanusError` as ``ErrorInfo`` in
the response; the caller raises the same class with the same detail again.
Anything else the callee raises is a bug there, answered as InternalError.
Transport failures (the peer is down, slow or gone) become ServiceUnavailable
naming the peer, which callers may retry.
"""

from __future__ import annotations

import logging
from typing import Any

import grpc

from elanus import errors
from proto.internal import roles_pb2 as pb

log = logging.getLogger(__name__)

# gRPC codes that say "the peer could not answer", not "the peer said no".
_UNREACHABLE = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}
)


def error_info(exc: BaseException) -> pb.ErrorInfo:
    """What the callee answers for ``exc``."""
    if isinstance(exc, errors.ElanusError):
        return pb.ErrorInfo(
            kind=_public_class(exc).__name__,
            code=exc.code,
            detail=exc.detail,
            reason=exc.reason,
            cause=exc.cause,
        )
    internal = errors.InternalError(f"{type(exc).__name__}: {exc}")
    return pb.ErrorInfo(
        kind="InternalError", code=internal.code, detail=internal.detail, reason=internal.reason
    )


def _public_class(exc: errors.ElanusError) -> type[errors.ElanusError]:
    """The nearest class of ``exc`` that elanus.errors declares, so the caller knows it
    (a subclass declared elsewhere arrives as its base, which is what callers catch)."""
    for cls in type(exc).__mro__:
        if getattr(errors, cls.__name__, None) is cls:
            result: type[errors.ElanusError] = cls
            return result
    return errors.ElanusError


def error_from_info(info: pb.ErrorInfo) -> errors.ElanusError:
    """The exception the caller raises: the callee's class, or InternalError if unknown here."""
    kind: Any = getattr(errors, info.kind, None)
    if isinstance(kind, type) and issubclass(kind, errors.ElanusError):
        return kind(info.detail, info.cause)
    return errors.InternalError(f"{info.kind} (code {info.code}): {info.reason}")


def raise_if_failed(response: Any) -> None:
    """Raise the error a response carries, if any."""
    if response.HasField("error"):
        raise error_from_info(response.error)


def transport_error(address: str, method: str, exc: grpc.RpcError) -> errors.ElanusError:
    """The ElanusError for a call that failed in transport (or in gRPC itself)."""
    code = exc.code() if isinstance(exc, grpc.Call) else None
    details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
    text = f"{method} to {address}: {code.name if code else 'error'}: {details}"
    if code in _UNREACHABLE:
        return errors.ServiceUnavailable(text)
    if code is grpc.StatusCode.UNIMPLEMENTED:
        return errors.Unimplemented(text)
    return errors.InternalError(text)
