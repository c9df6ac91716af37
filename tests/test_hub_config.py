"""`workshop/jupyterhub_config.py` and the README's hub commands, read without starting a hub.

The hub itself runs in tests/test_hub.py (root, npm and the PostgreSQL service); these checks run
everywhere: the configuration JupyterHub would load, and the README's command lines parsed by the
real `course` parser.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest
from traitlets.config.loader import PyFileConfigLoader

from course_db import hub
from course_db.cli import build_parser
from course_db.errors import SetupError
from course_db.paths import ROOT

pytestmark = pytest.mark.server_agnostic  # see CONTRIBUTING.md, Run the tests

CONFIG = ROOT / "workshop" / "jupyterhub_config.py"


@pytest.fixture
def config(monkeypatch: pytest.MonkeyPatch, tmp_path):
    admin_url = "postgresql+psycopg://postgres:secret@127.0.0.1:5432/postgres"
    for key, value in {
        "COURSE_HUB_HOME": str(tmp_path),
        "COURSE_WORKSHOP": "class",
        "COURSE_HUB_LEARNERS": "ana,bob",
        "COURSE_HUB_ADMINS": "instructor",
        "COURSE_HUB_BIND": "127.0.0.1",
        "COURSE_HUB_PORT": "8000",
        "COURSE_DATABASE_URL": admin_url,
    }.items():
        monkeypatch.setenv(key, value)
    loader = PyFileConfigLoader(CONFIG.name, str(CONFIG.parent))
    return loader.load_config()


def test_the_hub_runs_each_learner_as_their_own_unix_user_with_first_use_passwords(config) -> None:
    assert config.JupyterHub.spawner_class == "localprocess"  # not `simple`: one user for all
    assert config.JupyterHub.authenticator_class.endswith("FirstUseAuthenticator")
    assert config.Authenticator.allowed_users == {"ana", "bob"}
    assert config.Authenticator.admin_users == {"instructor"}
    assert config.Spawner.cmd[1:] == ["-m", "course_db.hub_learner"]
    assert config.Spawner.default_url == "/lab/tree/notebooks/01_alembic_vs_drizzle.ipynb"
    assert config.JupyterHub.hub_ip == "127.0.0.1"
    assert config.JupyterHub.bind_url == "http://127.0.0.1:8000"


def test_only_the_board_service_holds_the_admin_url(config) -> None:
    services = {service["name"]: service for service in config.JupyterHub.services}
    assert set(services) == {"board", "idle-culler"}
    assert services["board"]["environment"]["COURSE_DATABASE_URL"].startswith("postgresql")
    assert "environment" not in services["idle-culler"]
    assert "COURSE_DATABASE_URL" not in str(config.Spawner)  # learners get theirs in the hook
    (culler,) = config.JupyterHub.load_roles
    assert culler["services"] == ["idle-culler"] and "admin" not in str(culler["scopes"])


def test_the_readme_hub_commands_are_real_course_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Run a workshop on JupyterHub", 1)[1].split("\n## ", 1)[0]
    commands = [
        shlex.split(line.split("uv run course ", 1)[1])
        for block in re.findall(r"```sh\n(.*?)```", section, flags=re.S)
        for line in block.splitlines()
        if "uv run course " in line
    ]
    assert [command[:2] for command in commands] == [["workshop", "hub"]]
    args = build_parser().parse_args(commands[0])
    assert (args.bind, args.port, args.learners) == ("0.0.0.0", 8000, "learners.txt")


def test_a_learner_named_like_a_system_account_is_refused(tmp_path: Path) -> None:
    place = hub.Layout(tmp_path)
    with pytest.raises(SetupError, match="'root' is a Unix account of this machine"):
        hub.check_unix_name(place, "root")
    hub.check_unix_name(place, "nosuchlearner" + os.urandom(2).hex())  # free: fine
