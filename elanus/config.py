"""Configuration: one YAML file with a section per role and adapter, every key
overridable by an environment variable ``ELANUS_<SECTION>_<KEY>`` (upper case).

Only plain values live here; which implementation a value selects is decided
in one place, :mod:`elanus.launcher`.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


@dataclass
class ListenConfig:
    """Where a role serves: its gRPC on ``host:port`` (0: any free port; peers find
    the actual address through its session), /healthz and /metrics on ``http_port``
    (:mod:`elanus.http`; 0: any free port), and the host other roles dial,
    announced in the session (empty: ``host``; set it when ``host`` is a wildcard,
    0.0.0.0 in a container)."""

    host: str = "127.0.0.1"
    port: int = 0
    http_port: int = 0
    advertise_host: str = ""


@dataclass
class ProxyConfig(ListenConfig):
    host: str = "0.0.0.0"
    port: int = 19530
    http_port: int = 9091  # as in Milvus
    # The Milvus 0.x API (pymilvus 0.2.x) on its own port; 0: not served.
    legacy_port: int = 0
    time_tick_interval_s: float = 0.1
    max_request_bytes: int = 64 * 1024 * 1024
    max_topk: int = 16384
    search_timeout_s: float = 30.0


@dataclass
class CoordinatorConfig(ListenConfig):
    dml_channel_pool: int = 4
    default_shards: int = 1
    segment_max_rows: int = 200_000
    tso_window_s: float = 3.0
    graceful_time_s: float = 5.0
    # DML log messages below every checkpoint for this long are discarded.
    log_retention_s: float = 600.0
    retention_interval_s: float = 30.0
    # Seal policies besides segment_max_rows: a growing segment is sealed once it
    # has been open this long, or has had no rows assigned for this long.
    segment_max_age_s: float = 3600.0
    segment_idle_s: float = 600.0
    seal_check_interval_s: float = 1.0
    # Automatic compaction: merge a group's flushed segments when at least
    # compaction_min_segments of them are below compaction_small_ratio of
    # segment_max_rows, or a segment's deleted share exceeds compaction_deleted_ratio.
    compaction_auto: bool = True
    compaction_interval_s: float = 60.0
    compaction_min_segments: int = 4
    compaction_small_ratio: float = 0.5
    compaction_deleted_ratio: float = 0.2
    # Files of dropped segments are removed this long after the drop.
    gc_grace_s: float = 3600.0
    gc_interval_s: float = 60.0
    # A flush not done after this long makes GetFlushState fail with the reason.
    flush_timeout_s: float = 600.0


@dataclass
class DataNodeConfig(ListenConfig):
    delete_flush_interval_s: float = 10.0
    checkpoint_interval_s: float = 1.0


@dataclass
class QueryNodeConfig(ListenConfig):
    consistency_wait_s: float = 10.0


@dataclass
class IndexNodeConfig(ListenConfig):
    build_threads: int = 1


@dataclass
class StorageConfig:
    data_dir: str = "./elanus-data"


@dataclass
class EtcdConfig:
    """The metadata KV of a cluster; an empty endpoint means none is configured."""

    endpoint: str = ""  # host:port
    prefix: str = "elanus/"
    session_ttl_s: float = 5.0


@dataclass
class KafkaConfig:
    bootstrap: str = ""  # host:port
    topic_prefix: str = "elanus-"


@dataclass
class MinioConfig:
    endpoint: str = ""  # host:port
    access_key: str = ""
    secret_key: str = ""
    bucket: str = "elanus"
    prefix: str = ""
    secure: bool = False


DEFAULT_ROOT_PASSWORD = "Milvus"  # Milvus's common.security.defaultRootPassword


@dataclass
class SecurityConfig:
    """Milvus's ``common.security`` keys: who may call, and how the port is secured.

    ``tls_mode``: 0 plain gRPC, 1 server TLS (``tls_cert_file``, ``tls_key_file``),
    2 mutual TLS (also ``tls_ca_file``). Until the proxy serves TLS, turning it on
    is refused at startup (:func:`check_security`) rather than silently serving a
    plain port.
    """

    authorization_enabled: bool = False
    default_root_password: str = DEFAULT_ROOT_PASSWORD
    tls_mode: int = 0
    tls_cert_file: str = ""
    tls_key_file: str = ""
    tls_ca_file: str = ""


# Milvus's proxy.minPasswordLength / proxy.maxPasswordLength.
MIN_PASSWORD_LENGTH = 6
MAX_PASSWORD_LENGTH = 256
TLS_MODES = (0, 1, 2)


class ConfigError(ValueError):
    """The configuration cannot be served as written; the message says which key and why."""


@dataclass
class Config:
    proxy: ProxyConfig = field(default_factory=ProxyConfig)
    coordinator: CoordinatorConfig = field(default_factory=CoordinatorConfig)
    datanode: DataNodeConfig = field(default_factory=DataNodeConfig)
    querynode: QueryNodeConfig = field(default_factory=QueryNodeConfig)
    indexnode: IndexNodeConfig = field(default_factory=IndexNodeConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    etcd: EtcdConfig = field(default_factory=EtcdConfig)
    kafka: KafkaConfig = field(default_factory=KafkaConfig)
    minio: MinioConfig = field(default_factory=MinioConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)

    @property
    def data_dir(self) -> Path:
        return Path(self.storage.data_dir)


def load_config(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Config:
    """Defaults, then the YAML file, then ``ELANUS_SECTION_KEY`` environment overrides."""
    raw: dict[str, Any] = {}
    if path is not None:
        raw = yaml.safe_load(Path(path).read_text()) or {}
        if not isinstance(raw, dict):
            raise ConfigError(f"config file {path} must hold a mapping of sections")
    config = Config()
    environ = dict(os.environ if environ is None else environ)
    for section in dataclasses.fields(config):
        target = getattr(config, section.name)
        values = raw.get(section.name) or {}
        unknown = set(values) - {f.name for f in dataclasses.fields(target)}
        if unknown:
            raise ConfigError(f"unknown keys in config section {section.name!r}: {sorted(unknown)}")
        for item in dataclasses.fields(target):
            env_key = f"ELANUS_{section.name}_{item.name}".upper()
            kind = type(getattr(target, item.name))
            if env_key in environ:
                setattr(target, item.name, _coerce(environ[env_key], kind, env_key))
            elif item.name in values:
                key = f"{section.name}.{item.name}"
                setattr(target, item.name, _coerce(values[item.name], kind, key))
    check_security(config.security)
    return config


def check_security(security: SecurityConfig) -> None:
    """Refuse security settings Elanus cannot honour, naming the key, so a server
    never starts open or in plain text when its operator asked otherwise."""
    if not MIN_PASSWORD_LENGTH <= len(security.default_root_password) <= MAX_PASSWORD_LENGTH:
        raise ConfigError(
            "security.default_root_password must be between "
            f"{MIN_PASSWORD_LENGTH} and {MAX_PASSWORD_LENGTH} characters long"
        )
    if security.tls_mode not in TLS_MODES:
        raise ConfigError(
            f"security.tls_mode must be 0 (off), 1 (server TLS) or 2 (mutual TLS), "
            f"not {security.tls_mode}"
        )
    if security.tls_mode != 0:
        raise ConfigError(
            f"security.tls_mode {security.tls_mode} is not supported yet: "
            "Elanus serves plain gRPC only; set security.tls_mode to 0"
        )


def _coerce(value: Any, kind: type, key: str) -> Any:
    if kind is bool and isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    try:
        return kind(value)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{key} must be a {kind.__name__}, not {value!r}") from error
