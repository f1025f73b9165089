"""Settings: `ENGAGE_*` environment variables and an optional YAML file, validated at start."""

from engage_stream.config.settings import PROJECT_ROOT, Settings, SettingsError, load_settings

__all__ = ["PROJECT_ROOT", "Settings", "SettingsError", "load_settings"]
