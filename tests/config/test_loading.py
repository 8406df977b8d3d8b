"""Settings load from JUBAO_* variables, .env, an env file and *_FILE secrets, and every bad
value is refused with its variable and the expected form named."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from jubao.config import WECHAT_NOTIFY_SCHEDULE, ConfigError, Settings
from jubao.security.sealing import new_master_key_text


def problems(env: dict[str, str], **overrides: object) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env=env, **overrides)
    return caught.value.problems


def the_problem(env: dict[str, str]) -> str:
    found = problems(env)
    assert len(found) == 1, found
    return found[0]


def test_no_variables_give_the_defaults() -> None:
    assert Settings.from_env(env={}) == Settings()
    assert Settings().notify_schedule == WECHAT_NOTIFY_SCHEDULE
    assert Settings().allow_plaintext_secrets is False


def test_direct_construction_and_replace_keep_working() -> None:
    settings = Settings(port=9000, notify_allow_private=True, data_dir=Path("x"))
    changed = dataclasses.replace(settings, database_url="sqlite:///y.sqlite3")
    assert (changed.port, changed.notify_allow_private) == (9000, True)
    assert changed.resolved_database_url == "sqlite:///y.sqlite3"
    assert settings.resolved_database_url == "sqlite:///x/jubao.sqlite3"


def test_values_are_parsed_by_type() -> None:
    settings = Settings.from_env(
        env={
            "JUBAO_PORT": "8700",
            "JUBAO_DATA_DIR": "/srv/jubao",
            "JUBAO_RATE_LIMIT_PER_SECOND": "0",
            "JUBAO_REQUEST_TIMEOUT_SECONDS": "2.5",
            "JUBAO_NOTIFY_SCHEDULE": "1, 2.5,60",
            "JUBAO_NOTIFY_ALLOW_PRIVATE": "yes",
            "JUBAO_ALLOW_PLAINTEXT_SECRETS": "TRUE",
            "JUBAO_HOST": "",  # empty means unset
        }
    )
    assert settings.port == 8700
    assert settings.data_dir == Path("/srv/jubao")
    assert settings.rate_limit_per_second == 0
    assert settings.request_timeout_seconds == 2.5
    assert settings.notify_schedule == (1.0, 2.5, 60.0)
    assert settings.notify_allow_private is True
    assert settings.allow_plaintext_secrets is True
    assert settings.host == "127.0.0.1"


def test_a_non_number_names_the_variable_and_the_expected_form() -> None:
    problem = the_problem({"JUBAO_PORT": "abc"})
    assert problem.startswith("JUBAO_PORT='abc'")
    assert "a port number from 1 to 65535" in problem
    assert "invalid literal" not in problem


@pytest.mark.parametrize("word", ["ture", "2", "enabled"])
def test_booleans_are_strict(word: str) -> None:
    problem = the_problem({"JUBAO_NOTIFY_ALLOW_PRIVATE": word})
    assert problem.startswith(f"JUBAO_NOTIFY_ALLOW_PRIVATE='{word}'")
    assert "true or false" in problem


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("JUBAO_PORT", "0"),
        ("JUBAO_PORT", "70000"),
        ("JUBAO_RATE_LIMIT_PER_SECOND", "-1"),
        ("JUBAO_RATE_LIMIT_BURST", "0"),
        ("JUBAO_MAX_BODY_BYTES", "0"),
        ("JUBAO_REQUEST_TIMEOUT_SECONDS", "-0.5"),
        ("JUBAO_NOTIFY_TIMEOUT_SECONDS", "0"),
        ("JUBAO_WECHAT_TIMEOUT_SECONDS", "nan"),
        ("JUBAO_NOTIFY_LEASE_SECONDS", "inf"),
        ("JUBAO_MAINTENANCE_INTERVAL_SECONDS", "0"),
        ("JUBAO_NOTIFY_CONCURRENCY", "0"),
        ("JUBAO_ORDER_EXPIRE_SECONDS", "-5"),
        ("JUBAO_NOTIFY_SCHEDULE", "15,0,30"),
        ("JUBAO_NOTIFY_SCHEDULE", " , "),
        ("JUBAO_DATABASE_URL", "mysql://db/jubao"),
        ("JUBAO_PUBLIC_URL", "pay.example.com"),
        ("JUBAO_WECHAT_BASE_URL", "ftp://wechat"),
    ],
)
def test_out_of_range_values_are_refused(variable: str, value: str) -> None:
    problem = the_problem({variable: value})
    assert problem.startswith(f"{variable}="), problem
    assert "; expected " in problem


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        {"JUBAO_PORT": "x", "JUBAO_NOTIFY_CONCURRENCY": "-1", "JUBAO_LOG_LEVEL": "loud"}
    )
    assert [problem.split("=")[0] for problem in found] == [
        "JUBAO_PORT",
        "JUBAO_NOTIFY_CONCURRENCY",
        "JUBAO_LOG_LEVEL",
    ]


@pytest.mark.parametrize(
    ("given", "level"),
    [("warning", "WARNING"), ("Debug", "DEBUG"), (" error ", "ERROR"), ("warn", "WARNING")],
)
def test_log_levels_are_case_insensitive(given: str, level: str) -> None:
    assert Settings.from_env(env={"JUBAO_LOG_LEVEL": given}).log_level == level


def test_an_unknown_log_level_is_a_clear_error() -> None:
    problem = the_problem({"JUBAO_LOG_LEVEL": "verbose"})
    assert problem.startswith("JUBAO_LOG_LEVEL='verbose'")
    assert "CRITICAL, ERROR, WARNING, INFO, DEBUG" in problem


def test_master_keys_are_checked_and_never_echoed() -> None:
    good = new_master_key_text()
    assert Settings.from_env(env={"JUBAO_MASTER_KEY": good}).master_key == good
    found = problems({"JUBAO_MASTER_KEY": "not-a-key", "JUBAO_MASTER_KEY_OLD": f"{good},short"})
    assert [problem.split(":")[0] for problem in found] == [
        "JUBAO_MASTER_KEY",
        "JUBAO_MASTER_KEY_OLD",
    ]
    assert all("expected 32 random bytes in base64url" in problem for problem in found)
    assert not any("not-a-key" in problem or good in problem for problem in found)


def test_key_files_must_exist(tmp_path: Path) -> None:
    problem = the_problem({"JUBAO_SP_PRIVATE_KEY_FILE": str(tmp_path / "missing.pem")})
    assert problem.startswith("JUBAO_SP_PRIVATE_KEY_FILE=")
    assert "no such file" in problem


def test_overrides_win_and_are_validated_too() -> None:
    settings = Settings.from_env(env={"JUBAO_PORT": "8700"}, port=9100, host=None)
    assert settings.port == 9100
    problem = problems({}, port=70000)[0]
    assert problem.startswith("JUBAO_PORT=70000 (command line)")


def test_secret_files_are_read_at_load(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("s3cret-token\n", "utf-8")
    key = new_master_key_text()
    (tmp_path / "master").write_text(key, "utf-8")
    (tmp_path / "apiv3").write_text("a" * 32 + "\r\n", "utf-8")
    settings = Settings.from_env(
        env={
            "JUBAO_ADMIN_TOKEN_FILE": str(tmp_path / "token"),
            "JUBAO_MASTER_KEY_FILE": str(tmp_path / "master"),
            "JUBAO_APIV3_KEY_FILE": str(tmp_path / "apiv3"),
        }
    )
    assert settings.admin_token == "s3cret-token"
    assert settings.master_key == key
    assert settings.apiv3_key == "a" * 32


def test_a_secret_and_its_file_together_are_refused(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("from-file", "utf-8")
    problem = the_problem(
        {"JUBAO_ADMIN_TOKEN": "direct", "JUBAO_ADMIN_TOKEN_FILE": str(tmp_path / "token")}
    )
    assert problem.startswith("JUBAO_ADMIN_TOKEN and JUBAO_ADMIN_TOKEN_FILE are both set")
    assert "from-file" not in problem and "direct" not in problem


def test_an_unreadable_secret_file_names_its_variable(tmp_path: Path) -> None:
    problem = the_problem({"JUBAO_MASTER_KEY_FILE": str(tmp_path / "nope")})
    assert problem.startswith(f"JUBAO_MASTER_KEY_FILE={tmp_path / 'nope'}: cannot read it")


def test_a_bad_secret_read_from_a_file_is_still_checked(tmp_path: Path) -> None:
    (tmp_path / "master").write_text("short", "utf-8")
    problem = the_problem({"JUBAO_MASTER_KEY_FILE": str(tmp_path / "master")})
    assert problem.startswith("JUBAO_MASTER_KEY:") and "short" not in problem


def test_dotenv_in_the_working_directory_is_read_below_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        "# comment\nJUBAO_PORT=8701\nexport JUBAO_LOG_LEVEL=debug\nJUBAO_HOST=0.0.0.0\n", "utf-8"
    )
    monkeypatch.setenv("JUBAO_HOST", "10.0.0.1")
    monkeypatch.delenv("JUBAO_PORT", raising=False)
    monkeypatch.delenv("JUBAO_LOG_LEVEL", raising=False)
    settings = Settings.from_env()
    assert (settings.port, settings.log_level, settings.host) == (8701, "DEBUG", "10.0.0.1")
    # a given mapping stands for the whole environment: no .env then
    assert Settings.from_env(env={}).port == 8600


def test_an_env_file_sits_between_dotenv_and_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("JUBAO_PORT=8701\nJUBAO_HOST=0.0.0.0\n", "utf-8")
    (tmp_path / "channel.env").write_text("JUBAO_PORT=8702\nJUBAO_SP_MCHID=1900\n", "utf-8")
    monkeypatch.setenv("JUBAO_SP_MCHID", "1901")
    for name in ("JUBAO_PORT", "JUBAO_HOST", "JUBAO_ENV_FILE"):
        monkeypatch.delenv(name, raising=False)
    by_option = Settings.from_env(env_file="channel.env")
    assert (by_option.port, by_option.host, by_option.sp_mchid) == (8702, "0.0.0.0", "1901")
    assert by_option.env_file == "channel.env"
    monkeypatch.setenv("JUBAO_ENV_FILE", "channel.env")
    assert Settings.from_env().port == 8702


def test_env_file_errors_name_where_the_value_came_from(tmp_path: Path) -> None:
    (tmp_path / "bad.env").write_text("JUBAO_NOTIFY_ALLOW_PRIVATE=ture\n", "utf-8")
    problem = the_problem({"JUBAO_ENV_FILE": str(tmp_path / "bad.env")})
    assert problem.startswith(f"JUBAO_NOTIFY_ALLOW_PRIVATE='ture' ({tmp_path / 'bad.env'})")
    missing = the_problem({"JUBAO_ENV_FILE": str(tmp_path / "missing.env")})
    assert missing.startswith("JUBAO_ENV_FILE=") and "no such file" in missing
