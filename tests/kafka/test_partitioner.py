"""The one partitioner is the Java clients' default for keyed records."""

from __future__ import annotations

import random

import pytest
from kafka.partitioner.default import murmur2 as kafka_python_murmur2

from engage_stream.kafka.partitioner import murmur2, partition_for

JAVA = [  # Apache Kafka's UtilsTest.testMurmur2, the values of the Java implementation
    (b"21", -973932308),
    (b"foobar", -790332482),
    (b"a-little-bit-long-string", -985981536),
    (b"a-little-bit-longer-string", -1486304829),
    (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
    (b"abc", 479470107),
    (b"", 275646681),
]


@pytest.mark.parametrize(("data", "java"), JAVA)
def test_murmur2_gives_the_java_clients_values(data: bytes, java: int) -> None:
    assert murmur2(data) == java


def test_a_customer_lands_where_kafka_python_would_put_its_key() -> None:
    rng = random.Random(14)
    ids = [f"C{rng.randrange(10**8):08d}" for _ in range(500)] + ["김민수-001", "고객_가나다"]
    for customer in ids:
        expected = (kafka_python_murmur2(customer.encode()) & 0x7FFFFFFF) % 12
        assert partition_for(customer, 12) == expected


def test_customers_spread_over_every_partition() -> None:
    counts = [0] * 8
    for i in range(8_000):
        counts[partition_for(f"C-{i:05d}", 8)] += 1
    assert min(counts) > 800  # 1,000 each on average
