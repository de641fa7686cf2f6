"""The kiosk's configuration: a pydantic schema, the embedded defaults and example configs."""

from kiosk_config.loader import ConfigError, default_config_path, load_config
from kiosk_config.schema import KioskConfig

__all__ = ["ConfigError", "KioskConfig", "default_config_path", "load_config"]
