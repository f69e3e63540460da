"""The files under ``deploy/`` stay loadable and in step with the code they start."""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from discflow.agent import load_config
from discflow.cli import _register, app

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))


def _unit(path: Path) -> configparser.ConfigParser:
    # systemd allows repeated keys (Environment=, DeviceAllow=): strict=False keeps the last
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text())
    return parser


def test_there_is_a_unit_for_server_dispatcher_and_agent() -> None:
    names = {path.name for path in UNITS}
    assert names == {
        "discflow-server.service",
        "discflow-dispatcher.service",
        "discflow-agent@.service",
    }


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_unit_is_hardened(path: Path) -> None:
    unit = _unit(path)
    assert set(unit.sections()) == {"Unit", "Service", "Install"}
    service = unit["Service"]
    assert service.get("User") == "discflow" or service.get("DynamicUser") == "yes"
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    # with the whole file system read-only, the state folder must be given back
    # a leading "-" tells systemd to skip a path that does not exist
    writable = [p.removeprefix("-") for p in service["ReadWritePaths"].split()]
    assert writable and all(p.startswith("/var/lib/discflow") for p in writable)
    assert service["Restart"] in {"always", "on-failure"}
    assert unit["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_unit_command_line_is_accepted_by_discflow(path: Path) -> None:
    argv = shlex.split(_unit(path)["Service"]["ExecStart"])
    assert argv[0].endswith("/bin/discflow")
    # systemd specifiers (%i, %H) stand for names: any word will do here
    args = [re.sub(r"%[a-zA-Z]", "x", arg) for arg in argv[1:]]
    _register()
    result = CliRunner().invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output


def test_server_unit_leaves_dispatching_to_the_dispatcher_unit() -> None:
    service = _unit(DEPLOY / "systemd" / "discflow-server.service")["Service"]
    assert "DISCFLOW_RUN_DISPATCHER=0" in service["Environment"].split()
    assert "--workers" in service["ExecStart"]


def test_example_agent_config_loads() -> None:
    config = load_config(DEPLOY / "agent.toml")
    assert config.name == "pub-1"
    assert config.driver == "xorriso"
    assert config.enrol_code and config.token_file and config.server_url
    assert {"CD-R", "DVD-R"} <= set(config.media)
    # the agent unit lets the agent write under its own state folder only
    state = Path("/var/lib/discflow-agent") / config.name
    assert config.cache_dir.is_relative_to(state)
    assert config.token_file.is_relative_to(state)


def test_nginx_example_allows_image_uploads_and_streams() -> None:
    conf = (DEPLOY / "nginx" / "discflow.conf").read_text()
    assert conf.count("{") == conf.count("}")
    body = re.search(r"client_max_body_size\s+(\d+)([kmg]?);", conf)
    assert body is not None
    size = int(body[1]) * {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}[body[2]]
    assert size >= 50 * 10**9  # a BD-R DL image
    for setting in ("proxy_request_buffering off;", "proxy_buffering off;", "ssl_certificate "):
        assert setting in conf
    env = (DEPLOY / "discflow.env").read_text()
    limit = re.search(r"^DISCFLOW_MAX_UPLOAD_BYTES=(\d+)$", env, re.MULTILINE)
    assert limit is not None and int(limit[1]) <= size
