"""The group leader's assignment, which does not settle for topics its metadata lacks.

Found by `bench chaos`: a worker that joined while the broker restarted became the group's
leader with metadata that listed none of the group's topics (the broker had not loaded
them yet). Faust's assignor logs "Ignoring missing topic" and hands out nothing for them.
A leader rebalances again when its metadata changes, but aiokafka fetches metadata every
five minutes (`metadata.max.age.ms`): every worker stayed ready with nothing to read. Here a
leader that had to leave topics out fetches metadata again, with backoff, until they are
listed; aiokafka sees their partitions appear and rejoins, and the next assignment has them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, MutableMapping
from typing import Any

from faust.assignor import PartitionAssignor

from engage_stream.observability.logs import get_logger

log = get_logger(__name__)

FIRST_LOOK_S = 0.5
LAST_LOOK_S = 10.0


def missing_topics(cluster: Any, member_metadata: Mapping[str, Any]) -> list[str]:
    """Topics some member subscribes to that the cluster metadata has no partitions for."""
    subscribed = {topic for metadata in member_metadata.values() for topic in metadata.subscription}
    return sorted(topic for topic in subscribed if not cluster.partitions_for_topic(topic))


class GroupAssignor(PartitionAssignor):
    _looking: asyncio.Future[None] | None = None

    def assign(self, cluster: Any, member_metadata: MutableMapping[str, Any]) -> Any:
        missing = missing_topics(cluster, member_metadata)
        if missing:
            log.warning(
                "assigned_without_topics",
                topics=missing,
                action="metadata is fetched again until they are listed, then the group "
                "rebalances; if this repeats, create them (engage-stream topics create)",
            )
            self._look_again(missing)
        return super().assign(cluster, member_metadata)

    def _look_again(self, topics: list[str]) -> None:
        """Runs on the consumer's own loop (aiokafka's coordinator calls `assign` there)."""
        if self._looking is not None and not self._looking.done():
            return
        client = self.app.consumer._thread._ensure_consumer()._client  # type: ignore[attr-defined]
        self._looking = asyncio.ensure_future(until_listed(client, topics))


async def until_listed(client: Any, topics: list[str]) -> None:
    """Fetches metadata until every topic has partitions (the coordinator, listening to the
    metadata, rejoins the group when they appear)."""
    wait = FIRST_LOOK_S
    while True:
        await asyncio.sleep(wait)
        try:
            await client.force_metadata_update()
        except Exception as exc:  # the broker still away: look again later
            log.debug("metadata_not_fetched", error=str(exc)[:300])
        still = [t for t in topics if not client.cluster.partitions_for_topic(t)]
        if not still:
            log.info("assigned_topics_listed", topics=topics, action="the group rebalances")
            return
        wait = min(LAST_LOOK_S, wait * 2)
