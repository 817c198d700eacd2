"""One exception tree for every role, with the Status codes Milvus gives them.

    ElanusError                       code, legacy error_code, retriable
    ├── ServiceNotReady               1
    ├── ServiceUnavailable            2
    ├── Unimplemented                 10
    ├── ServiceResourceInsufficient   12    (retriable)
    ├── CollectionNotFound            100   (legacy CollectionNotExists)
    │   └── CollectionNotFoundOnDescribe 100 (DescribeCollection's wording)
    ├── CollectionNotLoaded           101
    ├── CollectionLoaded              104   (a change Milvus allows only once released)
    ├── IllegalSchema                 105
    ├── CollectionSchemaMismatch      109   (legacy SchemaMismatch: the client refreshes)
    ├── PartitionNotFound             200
    ├── PartitionNotLoaded            201
    ├── IndexNotFound                 700
    ├── IndexNotSupported             701
    ├── IndexDuplicate                702
    ├── DatabaseNotFound              800
    ├── DatabaseNumLimitExceeded      801
    ├── DatabaseInvalidName           802
    ├── ParameterInvalid              1100  (legacy IllegalArgument)
    │   ├── ExpressionError           1100
    │   └── DataInvalid               1100
    ├── ParameterMissing              1101
    ├── ParameterTooLarge             1102
    ├── PrivilegeNotAuthenticated     1400
    ├── PrivilegeNotPermitted         1401
    ├── PrivilegeGroupInvalidName     1402
    ├── Unauthenticated               1400  (a gRPC UNAUTHENTICATED, not a Status)
    ├── PermissionDenied              1401  (a gRPC PERMISSION_DENIED, not a Status)
    ├── AliasNotFound                 1600
    ├── AliasCollectionNameConflict   1601
    ├── AliasAlreadyExist             1602
    ├── MetricNotFound                1200
    ├── FieldNotFound                 1700
    ├── FieldNameInvalid              1701
    ├── OperationRefused              65535 (Milvus's plain refusals: the reason is the detail)
    ├── ConsistencyTimeout            10001 (retriable)
    ├── ChannelLeaseLost              65535 (between roles: a fenced datanode report)
    └── InternalError                 65535

Roles raise these; the proxy is the only place that turns them into a
``common.Status`` (and a stray exception into InternalError, never a trace).
"""

from __future__ import annotations

# Legacy ``common.ErrorCode`` values that older clients still read.
LEGACY_SUCCESS = 0
LEGACY_UNEXPECTED = 1
LEGACY_COLLECTION_NOT_EXISTS = 4
LEGACY_ILLEGAL_ARGUMENT = 5
LEGACY_INDEX_NOT_EXIST = 25
LEGACY_NOT_READY_SERVE = 56
LEGACY_SCHEMA_MISMATCH = 62


class ElanusError(Exception):
    """Base of every error a user may see. ``reason`` is the message for them."""

    code: int = 65535
    legacy_code: int = LEGACY_UNEXPECTED
    retriable: bool = False
    # Set for the refusals Milvus answers as a gRPC error rather than a Status
    # (a failed login, a missing privilege): the grpc.StatusCode's name.
    grpc_code: str = ""
    summary: str = "unexpected error"

    def __init__(self, detail: str = "", cause: str = "") -> None:
        self.detail = detail
        # What went wrong, before the summary, as Milvus wraps it ("cause: summary[detail]").
        self.cause = cause
        super().__init__(self.reason)

    @property
    def reason(self) -> str:
        if self.detail.startswith("["):  # several fields, already bracketed (see fields())
            base = self.summary + self.detail
        else:
            base = f"{self.summary}[{self.detail}]" if self.detail else self.summary
        return f"{self.cause}: {base}" if self.cause else base


def fields(**named: object) -> str:
    """A detail of several named values, as Milvus prints them: ``[database=d][collection=c]``."""
    return "".join(f"[{key}={value}]" for key, value in named.items())


def collection_not_found(db_name: str, name: str) -> CollectionNotFound:
    """Milvus's wording for a name that no collection (nor alias) of the database has."""
    return CollectionNotFound(fields(database=db_name, collection=name))


class ServiceNotReady(ElanusError):
    code, legacy_code, retriable, summary = 1, LEGACY_NOT_READY_SERVE, True, "service not ready"


class ServiceUnavailable(ElanusError):
    code, retriable, summary = 2, True, "service unavailable"


class Unimplemented(ElanusError):
    code, summary = 10, "service unimplemented"


class ServiceResourceInsufficient(ElanusError):
    """Not enough nodes for what was asked (more replicas than querynodes)."""

    code, retriable, summary = 12, True, "service resource insufficient"


class CollectionNotFound(ElanusError):
    code, legacy_code, summary = 100, LEGACY_COLLECTION_NOT_EXISTS, "collection not found"


class CollectionNotFoundOnDescribe(CollectionNotFound):
    """DescribeCollection's own wording of a missing collection, which Milvus keeps for
    the clients that match on it (pymilvus reads a schema through it before every write)."""

    summary = "can't find collection"


class CollectionNotLoaded(ElanusError):
    code, summary = 101, "collection not loaded"


class CollectionLoaded(ElanusError):
    code, summary = 104, "collection already loaded"


class IllegalSchema(ElanusError):
    code, legacy_code, summary = 105, LEGACY_ILLEGAL_ARGUMENT, "illegal collection schema"


class CollectionSchemaMismatch(ElanusError):
    """A write made with a cached schema older than the collection's (a field was added)."""

    code, legacy_code, summary = 109, LEGACY_SCHEMA_MISMATCH, "collection schema mismatch"


class PartitionNotFound(ElanusError):
    code, summary = 200, "partition not found"


class PartitionNotLoaded(ElanusError):
    code, summary = 201, "partition not loaded"


class IndexNotFound(ElanusError):
    code, legacy_code, summary = 700, LEGACY_INDEX_NOT_EXIST, "index not found"


class IndexNotSupported(ElanusError):
    code, legacy_code, summary = 701, LEGACY_ILLEGAL_ARGUMENT, "index type not supported"


class IndexDuplicate(ElanusError):
    code, summary = 702, "index duplicates"


class DatabaseNotFound(ElanusError):
    code, summary = 800, "database not found"


class DatabaseNumLimitExceeded(ElanusError):
    code, summary = 801, "exceeded the limit number of database"


class DatabaseInvalidName(ElanusError):
    code, summary = 802, "invalid database name"


class AliasNotFound(ElanusError):
    code, summary = 1600, "alias not found"


class AliasCollectionNameConflict(ElanusError):
    code, summary = 1601, "alias and collection name conflict"


class AliasAlreadyExist(ElanusError):
    code, summary = 1602, "alias already exist"


class PrivilegeNotAuthenticated(ElanusError):
    code, summary = 1400, "not authenticated"


class PrivilegeNotPermitted(ElanusError):
    code, summary = 1401, "privilege not permitted"


class Unauthenticated(ElanusError):
    """No credentials, or wrong ones: a gRPC UNAUTHENTICATED, as Milvus answers it."""

    code, summary, grpc_code = 1400, "not authenticated", "UNAUTHENTICATED"

    @property
    def reason(self) -> str:
        return self.detail or self.summary


class PermissionDenied(ElanusError):
    """An authenticated user without the privilege: a gRPC PERMISSION_DENIED."""

    code, summary, grpc_code = 1401, "permission denied", "PERMISSION_DENIED"

    @property
    def reason(self) -> str:
        return self.detail or self.summary


class PrivilegeGroupInvalidName(ElanusError):
    code, summary = 1402, "invalid privilege group name"


class OperationRefused(ElanusError):
    """A refusal Milvus answers with a bare message and code 65535 (for example a
    collection dropped while it has aliases): the reason is the detail alone."""

    summary = "refused"

    @property
    def reason(self) -> str:
        return self.detail or self.summary


class ParameterInvalid(ElanusError):
    code, legacy_code, summary = 1100, LEGACY_ILLEGAL_ARGUMENT, "invalid parameter"


class ExpressionError(ParameterInvalid):
    """A filter that does not parse or does not type-check; detail names the position."""

    summary = "invalid expression"


class DataInvalid(ParameterInvalid):
    """Insert/upsert/delete data that does not fit the schema."""

    summary = "invalid input data"


class ParameterMissing(ElanusError):
    code, legacy_code, summary = 1101, LEGACY_ILLEGAL_ARGUMENT, "missing parameter"


class ParameterTooLarge(ElanusError):
    code, legacy_code, summary = 1102, LEGACY_ILLEGAL_ARGUMENT, "parameter too large"


class MetricNotFound(ElanusError):
    """GetMetrics asked for a metric type the server does not report."""

    code, summary = 1200, "metric not found"


class FieldNotFound(ElanusError):
    code, legacy_code, summary = 1700, LEGACY_ILLEGAL_ARGUMENT, "field not found"


class FieldNameInvalid(ElanusError):
    code, legacy_code, summary = 1701, LEGACY_ILLEGAL_ARGUMENT, "field name invalid"


class ConsistencyTimeout(ElanusError):
    """A search waited for serve-time to reach its guarantee timestamp and gave up."""

    code, retriable, summary = 10001, True, "timeout waiting for consistency"


class ChannelLeaseLost(ElanusError):
    """A datanode reported on a channel it no longer owns (its session expired, or the
    channel moved on): nothing changed, and that datanode must stop writing the channel.
    Only roles see it; a client never does."""

    summary = "channel lease lost"


# How a refused report names a channel whose collection was dropped: the datanode
# takes that loss as expected, not as a fencing event.
CHANNEL_DROPPED = "dropped with its collection"


class InternalError(ElanusError):
    code, summary = 65535, "unexpected error"
