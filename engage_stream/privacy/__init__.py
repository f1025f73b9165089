"""Personal-data masking for logs and transcripts."""

from engage_stream.privacy.pii import mask_fields, mask_name, mask_text, mask_value

__all__ = ["mask_fields", "mask_name", "mask_text", "mask_value"]
