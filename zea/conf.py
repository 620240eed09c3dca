"""Reading configuration from the environment, failing loudly on bad values."""

import os
import re
from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|[smhd]?)\s*$")


class ConfigError(ImproperlyConfigured):
    """A configuration value is missing or malformed; the message names the variable."""


def parse_duration(text: str, *, allow_zero: bool = False) -> timedelta:
    """Parse `250ms`, `90s`, `15m`, `48h`, `7d` or plain seconds into a positive timedelta
    (or zero, where `allow_zero` says that means "off")."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a duration (use 250ms, 90s, 15m, 48h, 7d or seconds)")
    seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise ValueError(f"{text!r} must be longer than zero")
    return timedelta(seconds=seconds)


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no, on/off)")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_duration(name: str, default: str, *, allow_zero: bool = False) -> timedelta:
    raw = os.environ.get(name) or default
    try:
        return parse_duration(raw, allow_zero=allow_zero)
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from None
