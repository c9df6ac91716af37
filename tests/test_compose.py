"""docker-compose.yml: valid Compose, PostgreSQL on this machine only, data in a named volume."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest
import yaml

from course_db.paths import ROOT

COMPOSE = ROOT / "docker-compose.yml"
pytestmark = [
    pytest.mark.server_agnostic,
    pytest.mark.skipif(not COMPOSE.exists(), reason="docker-compose.yml not written yet"),
]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def postgres(compose: dict[str, Any]) -> dict[str, Any]:
    services = compose["services"]
    name = next(
        (key for key, service in services.items() if "postgres" in str(service.get("image", ""))),
        None,
    )
    assert name is not None, f"no service runs a postgres image: {sorted(services)}"
    return services[name]


def test_compose_file_matches_the_compose_spec() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}` with `env` as the environment."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2) or "", match.group(3) or ""
        if env.get(name):
            return env[name]
        if op == ":?":
            raise LookupError(f"{name}: {arg}")
        return arg if op == ":-" else ""

    return re.sub(r"\$\{(\w+)(:-|:\?)?([^}]*)\}", one, text)


def host_ips(ports: list[Any], env: dict[str, str] | None = None) -> list[str]:
    """The host address of each published port, short ("IP:HOST:CONTAINER") or long syntax."""
    found = []
    for port in ports:
        if isinstance(port, dict):
            found.append(interpolate(str(port.get("host_ip", "")), env or {}))
        else:
            parts = interpolate(str(port), env or {}).rsplit(":", 2)
            found.append(parts[0] if len(parts) == 3 else "")
    return found


def test_compose_postgres_publishes_only_on_localhost_by_default(postgres: dict[str, Any]) -> None:
    assert postgres.get("network_mode") != "host"
    ports = postgres.get("ports", [])
    assert ports, "the postgres service publishes no port"
    assert host_ips(ports) == ["127.0.0.1"] * len(ports), ports
    # A classroom network is one variable away, and only on purpose.
    assert host_ips(ports, {"COURSE_BIND": "0.0.0.0"}) == ["0.0.0.0"] * len(ports), ports


def test_compose_password_comes_from_the_environment_and_is_required(
    postgres: dict[str, Any],
) -> None:
    environment = postgres.get("environment", {})
    password = str(environment.get("POSTGRES_PASSWORD", ""))
    assert re.fullmatch(r"\$\{COURSE_DB_PASSWORD:\?[^}]+\}", password), password
    with pytest.raises(LookupError, match="COURSE_DB_PASSWORD"):
        interpolate(password, {})
    assert interpolate(password, {"COURSE_DB_PASSWORD": "s3cret"}) == "s3cret"
    assert "POSTGRES_HOST_AUTH_METHOD" not in environment or (
        environment["POSTGRES_HOST_AUTH_METHOD"] == "scram-sha-256"
    )


def test_compose_postgres_checks_passwords_with_scram(postgres: dict[str, Any]) -> None:
    environment = postgres.get("environment", {})
    assert "--auth-host=scram-sha-256" in str(environment.get("POSTGRES_INITDB_ARGS", ""))
    assert "trust" not in str(environment.get("POSTGRES_HOST_AUTH_METHOD", ""))


def test_compose_postgres_has_a_healthcheck(postgres: dict[str, Any]) -> None:
    check = postgres.get("healthcheck", {})
    assert check.get("test") and not check.get("disable")
    assert "pg_isready" in str(check["test"])


def test_compose_postgres_keeps_data_in_a_named_volume(
    compose: dict[str, Any], postgres: dict[str, Any]
) -> None:
    declared = set(compose.get("volumes") or {})
    named = []
    for volume in postgres.get("volumes", []):
        if isinstance(volume, dict):
            if volume.get("type") == "volume":
                named.append((volume.get("source"), volume.get("target")))
        else:
            source, _, target = str(volume).partition(":")
            named.append((source, target.split(":")[0]))
    data = [source for source, target in named if target.startswith("/var/lib/postgresql")]
    assert data and set(data) <= declared, (named, declared)
