"""Settings: `ENGAGE_*` environment variables and an optional YAML file, validated at start."""

from engage_stream.config.data_dir import DATA_DIR_ENV, data_dir
from engage_stream.config.settings import PROJECT_ROOT, Settings, SettingsError, load_settings

__all__ = ["DATA_DIR_ENV", "PROJECT_ROOT", "Settings", "SettingsError", "data_dir", "load_settings"]
