"""Kafka-compatible brokers the project starts itself: embedded Tansu and Apache Kafka."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from engage_stream.brokers.apache_kafka import ApacheKafkaBroker
from engage_stream.brokers.process import BrokerProcess, BrokerStartError
from engage_stream.brokers.tansu import TansuBroker

BrokerImpl = Literal["tansu", "kafka"]


def make_broker(
    impl: BrokerImpl,
    port: int | None = None,
    host: str = "127.0.0.1",
    advertised_host: str | None = None,
    work_dir: Path | None = None,
) -> BrokerProcess:
    cls: type[BrokerProcess] = TansuBroker if impl == "tansu" else ApacheKafkaBroker
    return cls(port=port, host=host, advertised_host=advertised_host, work_dir=work_dir)


__all__ = [
    "ApacheKafkaBroker",
    "BrokerImpl",
    "BrokerProcess",
    "BrokerStartError",
    "TansuBroker",
    "make_broker",
]
