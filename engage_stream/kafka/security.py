"""SASL and TLS for the Faust worker (aiokafka), and the ACLs a worker needs.

kafka-python takes the same settings as plain keyword arguments (`clients.connection_config`);
aiokafka wants an `ssl.SSLContext` inside Faust credentials, built here. Both verify the
broker's certificate against the CA file and the host name dialled.

Kept apart from `clients` so that the replay, which must not import Faust, never does.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable

import faust
from faust.types.auth import CredentialsT
from kafka.admin import (
    ACL,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    ResourcePattern,
    ResourceType,
)

from engage_stream.config.settings import Settings
from engage_stream.kafka.topics import TopicRole, TopicsFile


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """A verifying TLS context for SSL and SASL_SSL (None otherwise): the CA file, or the
    system's CAs without one; a client certificate when one is set."""
    if settings.kafka_security_protocol not in {"SSL", "SASL_SSL"}:
        return None
    cafile = settings.kafka_ssl_cafile
    context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    if settings.kafka_ssl_certfile:
        keyfile = settings.kafka_ssl_keyfile
        context.load_cert_chain(str(settings.kafka_ssl_certfile), str(keyfile) if keyfile else None)
    return context


def faust_credentials(settings: Settings) -> CredentialsT | None:
    """`broker_credentials` for `faust.App`: SASL (with TLS under SASL_SSL), TLS alone, or
    None for PLAINTEXT."""
    context = ssl_context(settings)
    if settings.kafka_sasl_mechanism is not None:
        password = settings.kafka_sasl_password
        # Faust picks SASL_SSL over SASL_PLAINTEXT by whether a context is given.
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=password.get_secret_value() if password else None,
            mechanism=settings.kafka_sasl_mechanism,
            ssl_context=context,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None


# Topics the worker only reads, and those it only writes; any other role (an internal topic
# between its stages, such as `scored`) it both writes and reads.
_READ_ONLY = frozenset({TopicRole.EVENTS, TopicRole.CUSTOMERS})
_WRITE_ONLY = frozenset(
    {
        TopicRole.ENRICHED,
        TopicRole.ACTIONS_HANDOFF,
        TopicRole.ACTIONS_EMAIL,
        TopicRole.SUPPRESSIONS,
        TopicRole.DLQ,
    }
)
# Faust names its own topics (the tables' changelogs, the assignor's leader topic) after the
# app id, the group: it creates, writes and reads them.
_OWN_TOPIC_OPERATIONS = (
    ACLOperation.CREATE,
    ACLOperation.READ,
    ACLOperation.WRITE,
    ACLOperation.DESCRIBE,
    ACLOperation.DESCRIBE_CONFIGS,
)


def _allow(
    principal: str,
    operations: Iterable[ACLOperation],
    resource: ResourceType,
    name: str,
    pattern: ACLResourcePatternType = ACLResourcePatternType.LITERAL,
) -> list[ACL]:
    return [
        ACL(
            principal=principal,
            host="*",
            operation=operation,
            permission_type=ACLPermissionType.ALLOW,
            resource_pattern=ResourcePattern(resource, name, pattern),
        )
        for operation in operations
    ]


def topic_operations(role: TopicRole) -> tuple[ACLOperation, ...]:
    """What the worker does with the topic of `role`; it describes every topic and its
    configs at start (partition counts, `max.message.bytes`)."""
    describe = (ACLOperation.DESCRIBE, ACLOperation.DESCRIBE_CONFIGS)
    if role in _READ_ONLY:
        return (ACLOperation.READ, *describe)
    if role in _WRITE_ONLY:
        return (ACLOperation.WRITE, *describe)
    return (ACLOperation.READ, ACLOperation.WRITE, *describe)


def worker_acls(topics: TopicsFile, group_id: str, user: str) -> list[ACL]:
    """The least a worker needs under an authorizer that denies by default: its topics by
    role, its consumer group, and the topics Faust makes under the group's name."""
    principal = f"User:{user}"
    acls = _allow(
        principal, (ACLOperation.READ, ACLOperation.DESCRIBE), ResourceType.GROUP, group_id
    )
    for role, spec in topics.topics.items():
        acls += _allow(principal, topic_operations(role), ResourceType.TOPIC, spec.name)
    acls += _allow(
        principal,
        _OWN_TOPIC_OPERATIONS,
        ResourceType.TOPIC,
        f"{group_id}-",
        ACLResourcePatternType.PREFIXED,
    )
    return acls
