"""Prometheus metrics (``prometheus-client``).

Counters and histograms are per process; with several ``serve`` workers, set
``PROMETHEUS_MULTIPROC_DIR`` to an empty directory writable by all of them (``jubao serve``
creates one when it starts workers) and every scrape sums all processes' files. The notification
and heartbeat gauges are not per process: they are read from the database at scrape time, so any
gateway answers for the whole installation.

Labels are bounded: a method label is a known Fubei method or ``other``; codes come from jubao's
error tree or a channel's documented codes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any, TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from jubao.observe.heartbeat import NotificationHealth

__all__ = [
    "CHANNEL_ERRORS",
    "CONTENT_TYPE_LATEST",
    "GATEWAY_REQUESTS",
    "GATEWAY_SECONDS",
    "NOTIFICATION_DELIVERIES",
    "ORDER_EVENTS",
    "UPSTREAM_SECONDS",
    "exposition",
    "labelled",
]

M = TypeVar("M", bound=MetricWrapperBase)
_children: dict[tuple[MetricWrapperBase, tuple[str, ...]], Any] = {}


def labelled(metric: M, *values: str) -> M:
    """``metric.labels(*values)``, looked up once per label set: ``labels()`` takes a lock and
    checks its arguments on every call, and the gateway counts per request. Label sets are
    bounded (above), so this cache is too."""
    key = (metric, values)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*values)
    return child


# no `*_created` series: a timestamp per label set that no dashboard or alert of ours reads
disable_created_metrics()  # type: ignore[no-untyped-call]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

GATEWAY_REQUESTS = Counter(
    "jubao_gateway_requests",
    "POST /gateway requests by Fubei method and answer sub_code (SUCCESS when it succeeded)",
    ["method", "sub_code"],
)
GATEWAY_SECONDS = Histogram(
    "jubao_gateway_seconds",
    "Time spent in jubao itself per gateway request, without waiting on the channel",
    ["method"],
    buckets=_LATENCY_BUCKETS,
)
UPSTREAM_SECONDS = Histogram(
    "jubao_upstream_seconds",
    "Time spent waiting on the payment channel per gateway request that called it",
    ["method"],
    buckets=_LATENCY_BUCKETS,
)
CHANNEL_ERRORS = Counter(
    "jubao_channel_errors",
    "Channel calls that failed, by channel and code (the channel's code, or UNAVAILABLE)",
    ["channel", "code"],
)
NOTIFICATION_DELIVERIES = Counter(
    "jubao_notification_deliveries",
    "Merchant notification attempts by outcome (DELIVERED, PENDING = will retry, FAILED = gave up)",
    ["outcome"],
)
ORDER_EVENTS = Counter(
    "jubao_order_events",
    "Order state transitions and other order events (CREATED, PAID, CLOSED, REVOKING, "
    "REFUND_SUCCESS, ...), counted as the unit of work recording them runs",
    ["event"],
)


def _database_gauges(health: NotificationHealth) -> Iterable[GaugeMetricFamily]:
    yield GaugeMetricFamily(
        "jubao_notifications_pending", "Merchant notifications not yet delivered", health.pending
    )
    yield GaugeMetricFamily(
        "jubao_notifications_failed",
        "Merchant notifications given up on after the whole schedule",
        health.failed,
    )
    yield GaugeMetricFamily(
        "jubao_notifications_due", "Pending notifications whose next attempt is due", health.due
    )
    yield GaugeMetricFamily(
        "jubao_notification_oldest_pending_seconds",
        "Age of the oldest pending merchant notification (0 when none)",
        health.oldest_pending_seconds,
    )
    # Never beaten: +Inf, so that an alert on the age fires.
    age = health.heartbeat_age_seconds
    yield GaugeMetricFamily(
        "jubao_worker_heartbeat_age_seconds",
        "Seconds since a notification dispatcher (jubao worker) last beat (+Inf: never)",
        float("inf") if age is None else age,
    )
    yield GaugeMetricFamily(
        "jubao_reconciliation_open_differences",
        "Differences between the channels' statements and jubao's books nobody resolved yet",
        health.open_differences,
    )


class _Snapshot(Collector):
    def __init__(self, health: NotificationHealth) -> None:
        self._health = health

    def collect(self) -> Iterable[GaugeMetricFamily]:
        return _database_gauges(self._health)


def exposition(health: NotificationHealth | None) -> bytes:
    """The text a scrape returns: this process's (or all processes') counters and histograms,
    then the installation's gauges read from the database (``None``: unreadable, left out)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        text = generate_latest(registry)
    else:
        text = generate_latest(REGISTRY)
    if health is not None:
        snapshot = CollectorRegistry()
        snapshot.register(_Snapshot(health))
        text += generate_latest(snapshot)
    return text
