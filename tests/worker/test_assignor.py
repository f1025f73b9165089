"""The group leader's assignment: topics its metadata lacks are looked up again until the
broker lists them, so a leader that joined during a broker restart does not leave the
group with nothing assigned for five minutes."""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace
from typing import Any

from aiokafka.client import AIOKafkaClient
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from engage_stream.brokers.apache_kafka import ApacheKafkaBroker
from engage_stream.worker.assignor import missing_topics, until_listed


def _members(*topics: str) -> dict[str, Any]:
    return {"member-1": SimpleNamespace(subscription=list(topics))}


async def test_a_topic_the_broker_does_not_list_yet_is_looked_up_until_it_is(
    apache_kafka: ApacheKafkaBroker,
) -> None:
    known, late = f"known-{uuid.uuid4().hex[:8]}", f"late-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=[apache_kafka.bootstrap])
    client = AIOKafkaClient(bootstrap_servers=[apache_kafka.bootstrap])
    try:
        admin.create_topics([NewTopic(known, num_partitions=2, replication_factor=1)])
        await client.bootstrap()
        client.set_topics([known, late])
        await client.force_metadata_update()
        assert missing_topics(client.cluster, _members(known, late)) == [late]

        looking = asyncio.ensure_future(until_listed(client, [late]))
        await asyncio.sleep(1.0)
        assert not looking.done(), "still missing: it keeps looking"
        admin.create_topics([NewTopic(late, num_partitions=3, replication_factor=1)])
        await asyncio.wait_for(looking, timeout=30)
        assert missing_topics(client.cluster, _members(known, late)) == []
        assert len(client.cluster.partitions_for_topic(late) or ()) == 3
    finally:
        await client.close()
        admin.close()
