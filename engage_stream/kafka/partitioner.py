"""The one partitioner: a customer id's partition, as the Java clients' default computes it.

Producers use whatever client and key they like; the worker re-keys every event and profile
by `customer_id` and sends it to `partition_for(customer_id)` of its internal topics, so a
customer's events, profile and state meet on one partition whatever arrived where. Murmur2
with the sign bit cleared, modulo the partition count: Kafka's `BuiltInPartitioner` for keyed
records (Java, kafka-python, aiokafka, Kafka Streams), so keyed producers of those clients
already agree with it. librdkafka's default (`consistent_random`, CRC32) does not.
"""

from __future__ import annotations

from functools import lru_cache

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's `Utils.murmur2`, as a signed 32-bit int (the Java value)."""
    length = len(data)
    h = (_SEED ^ length) & _MASK
    whole = length - length % 4
    for i in range(0, whole, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = (h * _M) & _MASK
        h ^= k
    rest = length % 4
    if rest == 3:
        h ^= data[whole + 2] << 16
    if rest >= 2:
        h ^= data[whole + 1] << 8
    if rest >= 1:
        h ^= data[whole]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


@lru_cache(maxsize=65_536)
def partition_for(customer_id: str, partitions: int) -> int:
    """The partition of `customer_id` (UTF-8, as the worker keys it) among `partitions`."""
    return (murmur2(customer_id.encode()) & 0x7FFFFFFF) % partitions
