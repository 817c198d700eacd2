"""Losing a channel's lease is expected, never an ERROR: INFO when the channel was
dropped (or unwatched), WARNING when another datanode took it over."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from datanode.channel_writer import ChannelWriter
from elanus import errors
from elanus.config import DataNodeConfig
from elanus.services import ChannelLease


def writer() -> ChannelWriter:
    unused: Any = None  # never started: no stream, storage or coordinator is used
    return ChannelWriter("c1_v0", DataNodeConfig(), unused, unused, unused, ChannelLease(1, 1))


def lease_loss_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "lost the channel's lease" in r.getMessage()]


def test_a_dropped_channel_logs_info(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="datanode")
    writer()._lose_lease(f"datanode 1 (epoch 1) no longer owns c1_v0; {errors.CHANNEL_DROPPED}")
    [record] = lease_loss_records(caplog)
    assert record.levelno == logging.INFO and record.exc_info is None


def test_an_unwatched_channel_logs_info(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="datanode")
    unwatched = writer()
    unwatched.stop()
    unwatched._lose_lease("datanode 1 (epoch 1) no longer owns c1_v0; it is now no datanode")
    [record] = lease_loss_records(caplog)
    assert record.levelno == logging.INFO


def test_a_takeover_logs_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="datanode")
    writer()._lose_lease("datanode 1 (epoch 1) no longer owns c1_v0; it is now datanode 2 epoch 2")
    [record] = lease_loss_records(caplog)
    assert record.levelno == logging.WARNING and record.exc_info is None
