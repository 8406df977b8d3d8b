"""Loading ``Settings`` with pydantic-settings, every problem named by its variable.

Precedence, lowest first: defaults; ``./.env``; the env file named by ``JUBAO_ENV_FILE`` (or
``--env-file``); the environment; CLI options. In each file or the environment, a secret may be
given as ``JUBAO_<NAME>_FILE`` (a path whose content is the value) instead of ``JUBAO_<NAME>``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any, cast, get_type_hints

from pydantic import ValidationError, create_model
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    SettingsConfigDict,
)

from jubao.config.settings import SECRET_FIELDS, Settings
from jubao.errors import JubaoError

__all__ = ["ConfigError", "env_var", "load_settings"]

PREFIX = "JUBAO_"
DOTENV = Path(".env")


class ConfigError(JubaoError):
    """Settings that cannot be used; ``problems`` each name their variable."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("配置错误", sub_code="CONFIG_ERROR")
        self.problems = problems

    def __str__(self) -> str:
        return "invalid settings:\n" + "\n".join(f"  {problem}" for problem in self.problems)


def env_var(name: str) -> str:
    return f"{PREFIX}{name.upper()}"


# A pydantic plugin (an entry point of any installed package) would see every setting, secrets
# included, and looking for them reads every installed distribution's metadata at each start.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")


class _Base(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=PREFIX,
        case_sensitive=False,
        env_ignore_empty=True,  # JUBAO_PORT= means "not set", as before
        extra="ignore",
        validate_default=False,
    )


# The validating model: the fields of Settings with their annotated constraints.
_HINTS = get_type_hints(Settings, include_extras=True)  # once: each call evaluates every field
_Schema = cast(
    type[BaseSettings],
    create_model(  # type: ignore[call-overload]
        "SettingsSchema",
        __base__=_Base,
        **{item.name: (_HINTS[item.name], item.default) for item in fields(Settings)},
    ),
)
_FIELDS = frozenset(item.name for item in fields(Settings))


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """``env`` None: ``./.env``, the env file and ``os.environ``; else only ``env``."""
    problems: list[str] = []
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}

    def layer(source: EnvSettingsSource, origin: str) -> None:
        found = _read_layer(source, origin, problems)
        values.update(found)
        origins.update(dict.fromkeys(found, origin))

    environment = _EnvironmentSource(os.environ if env is None else env)
    dotenv = _dotenv(DOTENV) if env is None and DOTENV.is_file() else None
    if dotenv is not None:
        layer(dotenv, ".env")
    env_file = _env_file_name(overrides, environment, dotenv)
    if env_file and Path(env_file).is_file():  # a missing one is reported by validation
        layer(_dotenv(Path(env_file)), env_file)
    layer(environment, "environment")
    given = {key: value for key, value in overrides.items() if value is not None}
    unknown = sorted(set(given) - _FIELDS)
    if unknown:
        raise TypeError(f"unknown settings: {', '.join(unknown)}")
    values.update(given)
    origins.update(dict.fromkeys(given, "command line"))

    try:
        model = _Schema.model_validate(values)
    except ValidationError as exc:
        problems += [_describe(error, values, origins) for error in exc.errors()]
    if problems:
        raise ConfigError(problems)
    return Settings(**{name: getattr(model, name) for name in _FIELDS})


class _EnvironmentSource(EnvSettingsSource):
    """The environment, or a given mapping standing in for it."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(_Schema)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {key.lower(): value for key, value in self._environ.items() if value != ""}


def _dotenv(path: Path) -> DotEnvSettingsSource:
    return DotEnvSettingsSource(_Schema, env_file=path)


def _env_file_name(
    overrides: Mapping[str, Any], environment: EnvSettingsSource, dotenv: EnvSettingsSource | None
) -> str:
    key = env_var("env_file").lower()
    for candidate in (
        overrides.get("env_file"),
        environment.env_vars.get(key),
        dotenv.env_vars.get(key) if dotenv is not None else None,
    ):
        if candidate:
            return str(candidate)
    return ""


def _read_layer(source: EnvSettingsSource, origin: str, problems: list[str]) -> dict[str, Any]:
    """The fields one file (or the environment) sets, ``*_FILE`` secrets read."""
    try:
        found = {key: value for key, value in source().items() if key in _FIELDS}
    except Exception as exc:  # pydantic-settings' own parse errors (SettingsError)
        problems.append(f"{origin}: {exc}")
        return {}
    for name in SECRET_FIELDS:
        path = source.env_vars.get(f"{env_var(name)}_FILE".lower())
        if not path:
            continue
        variable = f"{env_var(name)}_FILE"
        if name in found:
            problems.append(f"{env_var(name)} and {variable} are both set ({origin}): keep one")
            continue
        try:
            found[name] = Path(path).read_text("utf-8").rstrip("\r\n")
        except OSError as exc:
            problems.append(f"{variable}={path}: cannot read it ({exc.strerror})")
        except UnicodeDecodeError:
            problems.append(f"{variable}={path}: not UTF-8 text")
    return found


def _describe(error: Any, values: Mapping[str, Any], origins: Mapping[str, str]) -> str:
    name = str(error["loc"][0]) if error["loc"] else "?"
    variable = env_var(name)
    message = str(error["msg"]).removeprefix("Value error, ")
    shown = "" if name in SECRET_FIELDS else f"={values.get(name)!r}"
    if isinstance(values.get(name), tuple):
        shown = "=" + ",".join(str(part) for part in values[name])
    origin = origins.get(name)
    where = f" ({origin})" if origin and origin != "environment" else ""
    info = _Schema.model_fields.get(name)
    expected = f"; expected {info.description}" if info is not None and info.description else ""
    return f"{variable}{shown}{where}: {message}{expected}"
