"""engage-stream: real-time customer engagement for Korean-language CRM on Kafka."""

__version__ = "0.1.0"
