"""Kafka plumbing shared by every command: topic declarations, client config, admin."""
