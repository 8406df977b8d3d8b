"""`jubao config check` shows the settings in effect with secrets redacted; a bad setting makes
any command print the problem and exit 2, never a traceback; `jubao --version`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import jubao
from jubao.cli import main
from jubao.config import ConfigError, Settings
from jubao.config_check import effective_settings, warnings_for
from jubao.runtime import production_channel
from jubao.sandbox import build_standalone_simulator
from jubao.security.sealing import new_master_key_text


@pytest.fixture(autouse=True)
def _clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No .env of the developer's and no JUBAO_* setting of the shell."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("JUBAO_"):
            monkeypatch.delenv(name)


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_check_prints_every_setting_with_secrets_redacted(tmp_path: Path) -> None:
    key = new_master_key_text()
    (tmp_path / "token").write_text("tok-123456", "utf-8")
    code, out, err = invoke(
        "config",
        "check",
        env={
            "JUBAO_MASTER_KEY": key,
            "JUBAO_ADMIN_TOKEN_FILE": str(tmp_path / "token"),
            "JUBAO_DATABASE_URL": "postgresql://jubao:pg-pass@db:5432/jubao",
            "JUBAO_PORT": "8700",
            "JUBAO_LOG_LEVEL": "warning",
        },
    )
    assert code == 0, err
    lines = dict(line.split(None, 1) for line in out.splitlines())
    assert lines["JUBAO_PORT"] == "8700"
    assert lines["JUBAO_LOG_LEVEL"] == "WARNING"
    assert lines["JUBAO_MASTER_KEY"] == "<redacted>"
    assert lines["JUBAO_ADMIN_TOKEN"] == "<redacted>"
    assert lines["JUBAO_APIV3_KEY"] == "(not set)"
    assert lines["JUBAO_DATABASE_URL"] == "postgresql://jubao:<redacted>@db:5432/jubao"
    assert len(lines) == len(effective_settings(Settings()))
    for secret in (key, "tok-123456", "pg-pass"):
        assert secret not in out + err
    assert "settings OK" in err


def test_check_exits_2_naming_each_bad_variable() -> None:
    code, out, err = invoke(
        "config",
        "check",
        env={"JUBAO_PORT": "abc", "JUBAO_NOTIFY_ALLOW_PRIVATE": "ture"},
    )
    assert code == 2
    assert "JUBAO_PORT='abc'" in err and "a port number from 1 to 65535" in err
    assert "JUBAO_NOTIFY_ALLOW_PRIVATE='ture'" in err
    assert "Traceback" not in out + err


@pytest.mark.parametrize(
    "args",
    [["merchant", "list"], ["migrate"], ["serve"], ["worker"], ["secrets", "status"]],
)
def test_every_command_refuses_a_bad_setting_with_exit_2(args: list[str]) -> None:
    code, out, err = invoke(*args, env={"JUBAO_LOG_LEVEL": "verbose"})
    assert code == 2
    assert "JUBAO_LOG_LEVEL='verbose'" in err
    assert "Traceback" not in out + err


def test_a_bad_option_value_is_named_too() -> None:
    code, _out, err = invoke("sandbox", "--port", "70000")
    assert code == 2
    assert "JUBAO_PORT=70000 (command line)" in err


def test_the_installed_command_prints_no_traceback(tmp_path: Path) -> None:
    jubao_command = Path(sys.executable).parent / "jubao"
    environment = {key: value for key, value in os.environ.items() if not key.startswith("JUBAO_")}
    done = subprocess.run(
        [str(jubao_command), "merchant", "list"],
        env={**environment, "JUBAO_RATE_LIMIT_PER_SECOND": "-3"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("invalid settings:\n  JUBAO_RATE_LIMIT_PER_SECOND='-3'")
    assert "Traceback" not in done.stderr


def test_version() -> None:
    code, out, _err = invoke("--version")
    assert code == 0
    assert out.strip() == f"jubao, version {jubao.__version__}"


def test_warnings_name_unknown_variables_and_missing_channel_settings() -> None:
    notes = warnings_for(Settings(), {"JUBAO_PROT": "8700", "JUBAO_ADMIN_TOKEN_FILE": "x"})
    assert "JUBAO_PROT is not a jubao setting (ignored)" in notes
    assert not any("ADMIN_TOKEN_FILE" in note for note in notes)
    assert any("JUBAO_SP_MCHID" in note for note in notes)


async def test_the_simulators_channel_env_is_used_without_sourcing(tmp_path: Path) -> None:
    data_dir = tmp_path / "sim"
    simulator = Settings(data_dir=data_dir, database_url=f"sqlite:///{tmp_path}/db.sqlite3")
    app = await build_standalone_simulator(simulator)
    async with app.router.lifespan_context(app):
        pass
    channel_env = data_dir / "channel.env"

    settings = Settings.from_env(env={}, env_file=str(channel_env))
    assert settings.wechat_base_url == simulator.resolved_public_url
    assert settings.sp_mchid and settings.apiv3_key
    production_channel(settings)  # no "missing WeChat Pay settings"

    code, out, err = invoke("--env-file", str(channel_env), "config", "check")
    assert code == 0, err
    assert "JUBAO_ENV_FILE" in out and settings.sp_mchid in out
    assert settings.apiv3_key not in out + err
    assert "need WeChat Pay settings" not in err
    assert Settings.from_env(env={"JUBAO_ENV_FILE": str(channel_env)}) == settings


def test_config_error_lists_its_problems() -> None:
    error = ConfigError(["JUBAO_PORT='x': bad", "JUBAO_HOST='': bad"])
    assert str(error) == "invalid settings:\n  JUBAO_PORT='x': bad\n  JUBAO_HOST='': bad"
