"""The deployment files cannot run here (no container engine, no systemd), so they are checked
against the code: every command they run is a real `jubao` command with real options (click's
own parser), every JUBAO_* variable they set is a real setting (or its *_FILE form for a
secret), and every metric the dashboard and the alert rules use is one jubao exports."""

from __future__ import annotations

import json
import re
import shlex
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from jubao.cli import main
from jubao.config import SECRET_FIELDS, Settings, env_var
from jubao.observe.heartbeat import NotificationHealth
from jubao.observe.metrics import exposition

ROOT = Path(__file__).parents[2]
COMPOSE = ROOT / "compose.yaml"
SYSTEMD = ROOT / "deploy" / "systemd"
OTHER_VARIABLES = {"PROMETHEUS_MULTIPROC_DIR", "PYTHONUNBUFFERED"}


def known_variables() -> set[str]:
    names = {env_var(name) for name in Settings.__dataclass_fields__}
    return names | {env_var(name) + "_FILE" for name in SECRET_FIELDS} | OTHER_VARIABLES


def _rest(ctx: click.Context) -> list[str]:
    """What a group left for its subcommand (click 8.2 deprecates the name, 9.0 merges it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return [*ctx.protected_args, *ctx.args]


def check_command(args: list[str]) -> None:
    """Parse ``jubao ARGS`` down to the last subcommand, as click would run it (not invoked)."""
    ctx = main.make_context("jubao", list(args), resilient_parsing=False)
    command: click.Command = main
    rest = _rest(ctx)
    while isinstance(command, click.Group):
        assert rest, f"{args}: a group needs a command"
        name, sub, rest = command.resolve_command(ctx, rest)
        assert sub is not None and name is not None, f"{args}: no command {rest[:1]}"
        ctx = sub.make_context(name, rest, parent=ctx, resilient_parsing=False)
        command = sub
        rest = _rest(ctx) if isinstance(sub, click.Group) else ctx.args
    assert not rest, f"{args}: unexpected arguments {rest}"


def check_variables(names: list[str], where: str) -> None:
    unknown = sorted(name for name in names if name not in known_variables())
    assert unknown == [], f"{where}: not jubao settings: {unknown}"


def jubao_services() -> Iterator[tuple[str, dict[str, Any]]]:
    compose = yaml.safe_load(COMPOSE.read_text("utf-8"))
    for name, service in compose["services"].items():
        if service.get("image", "").startswith("jubao") or "build" in service:
            yield name, service


def test_the_checker_catches_mistakes() -> None:
    check_command(["serve", "--workers", "2", "--proxy-headers"])
    check_command(["notify", "list", "--json"])
    for wrong in (["serv"], ["serve", "--worker", "2"], ["notify"], ["migrate", "extra"]):
        with pytest.raises((click.ClickException, AssertionError)):
            check_command(wrong)
    with pytest.raises(AssertionError):
        check_variables(["JUBAO_PORTS"], "test")
    check_variables(["JUBAO_MASTER_KEY_FILE", "JUBAO_PORT"], "test")
    with pytest.raises(AssertionError):
        check_variables(["JUBAO_PORT_FILE"], "test")  # only secrets come from files


def test_compose_runs_real_commands_with_real_settings() -> None:
    services = dict(jubao_services())
    assert {"migrate", "gateway-1", "gateway-2", "worker", "simulator"} <= set(services)
    compose = yaml.safe_load(COMPOSE.read_text("utf-8"))
    assert "postgres" in compose["services"]
    commands = {name: service["command"] for name, service in services.items()}
    assert commands["migrate"] == ["migrate"]
    assert commands["worker"] == ["worker"]
    assert commands["gateway-1"][0] == "serve"
    for name, service in services.items():
        check_command(service["command"])
        check_variables(list(service.get("environment", {})), f"compose service {name}")


def test_the_dockerfile_is_slim_non_root_and_serves() -> None:
    text = (ROOT / "Dockerfile").read_text("utf-8")
    assert re.search(r"^FROM python:3\.11-slim$", text, re.M)
    assert re.search(r"^USER 10001$", text, re.M)
    assert '[server]"' in text  # the wheel with the server extra
    assert re.search(r'^ENTRYPOINT \["jubao"\]$', text, re.M)
    cmd = re.search(r"^CMD (\[.*\])$", text, re.M)
    assert cmd
    check_command(json.loads(cmd[1]))
    env = re.search(r"^ENV (.*?)(?=^\S)", text, re.M | re.S)
    assert env
    check_variables(re.findall(r"([A-Z_]+)=", env[1]), "Dockerfile")


def unit_lines(path: Path) -> list[tuple[str, str]]:
    pairs = []
    for line in path.read_text("utf-8").splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            pairs.append((key.strip(), value.strip()))
    return pairs


def test_systemd_units_run_real_commands_with_real_settings() -> None:
    units = sorted(SYSTEMD.glob("*.service"))
    assert {unit.name for unit in units} == {
        "jubao-gateway.service",
        "jubao-migrate.service",
        "jubao-worker.service",
    }
    for unit in units:
        lines = unit_lines(unit)
        (start,) = [value for key, value in lines if key == "ExecStart"]
        program, *args = shlex.split(start)
        assert program.endswith("/jubao"), unit.name
        check_command(args)
        assigned = [value.split("=", 1)[0] for key, value in lines if key == "Environment"]
        check_variables(assigned, unit.name)
        assert ("User", "jubao") in lines, unit.name
    env_file = [key for key, _ in unit_lines(SYSTEMD / "jubao.env")]
    check_variables(env_file, "jubao.env")


def exported_names() -> set[str]:
    health = NotificationHealth(1, 1, 1, 1.0, 1.0)
    names: set[str] = set()
    families = list(text_string_to_metric_families(exposition(health).decode()))
    families += list(REGISTRY.collect())
    for family in families:
        if family.type == "counter":
            names.add(family.name + "_total")
        elif family.type == "histogram":
            names |= {family.name + suffix for suffix in ("_bucket", "_count", "_sum")}
        else:
            names.add(family.name)
    return {name for name in names if name.startswith("jubao_")}


def test_dashboard_and_alerts_use_exported_metrics() -> None:
    exported = exported_names()
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "jubao-dashboard.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    rules = yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts.yml").read_text())
    alerts = {rule["alert"]: rule["expr"] for group in rules["groups"] for rule in group["rules"]}
    used = {name for expr in [*exprs, *alerts.values()] for name in re.findall(r"jubao_\w+", expr)}
    assert used - exported == set()
    # the four alerts the issue asks for
    assert "jubao_notification_oldest_pending_seconds" in alerts["JubaoNotificationBacklogOld"]
    assert 'outcome="FAILED"' in alerts["JubaoNotificationsFailed"]
    assert 'sub_code="SYSTEM_ERROR"' in alerts["JubaoSystemErrors"]
    assert "jubao_worker_heartbeat_age_seconds" in alerts["JubaoWorkerMissing"]
    # and the dashboard shows every metric jubao exports
    shown = {name for expr in exprs for name in re.findall(r"jubao_\w+", expr)}
    assert {name.removesuffix("_bucket") for name in shown} >= {
        name for name in exported if not name.endswith(("_count", "_sum", "_bucket"))
    } | {"jubao_gateway_seconds", "jubao_upstream_seconds"}
