"""Settings, read once at start-up (from ``JUBAO_*`` environment variables, env files and CLI
options) and passed in. Nothing reads the environment anywhere else. docs/deploy.md has the
table of every setting."""

from jubao.config.loading import ConfigError, env_var, load_settings
from jubao.config.settings import LOG_LEVELS, SECRET_FIELDS, WECHAT_NOTIFY_SCHEDULE, Settings

__all__ = [
    "LOG_LEVELS",
    "SECRET_FIELDS",
    "WECHAT_NOTIFY_SCHEDULE",
    "ConfigError",
    "Settings",
    "env_var",
    "load_settings",
]
