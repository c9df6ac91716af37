"""JupyterHub (6.x) for a workshop of the Alembic course: one machine, one hub, a room of learners.

Start it with `course workshop hub` (README, "Run a workshop on JupyterHub"), which prepares
COURSE_HUB_HOME and sets the variables read below; it is not meant to be run by hand.

Choices, for one VM:
- Spawner: LocalProcessSpawner with a Unix user per learner. Each learner's JupyterLab, kernels
  and checks run as that user, whose home (mode 700) holds their copy of the course: nobody reads
  or changes anyone else's files. (SimpleLocalProcessSpawner would run everybody as one user, who
  could read every learner's work.) The hub runs as root to switch users.
- Authenticator: FirstUseAuthenticator. Only the names of the class list may log in; each learner
  chooses their password at their first login, and from then on nobody else can use that name.
  The instructor logs in first, as the admin, before giving out the hub's address.
- Database: the spawn hook (`course_db/hub.py`) gives each learner their own PostgreSQL role of
  the workshop (`course workshop` machinery) and puts only that role's URL in their server's
  environment. The admin COURSE_DATABASE_URL stays in this hub's process (root's), and in the
  board service it starts.
"""

import os

from course_db import hub
from course_db.lab import first_notebook

c = get_config()  # noqa: F821  (JupyterHub provides it when it reads this file)

place = hub.layout()  # COURSE_HUB_HOME: venv, course snapshot, proxy, hub state, learners' homes
workshop = os.environ["COURSE_WORKSHOP"]
learners = {name for name in os.environ["COURSE_HUB_LEARNERS"].split(",") if name}
admins = {name for name in os.environ["COURSE_HUB_ADMINS"].split(",") if name}

# --- where it listens: the room reaches the proxy; everything else stays on loopback ------------
c.JupyterHub.bind_url = f"http://{os.environ['COURSE_HUB_BIND']}:{os.environ['COURSE_HUB_PORT']}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = hub.free_port()
c.ConfigurableHTTPProxy.command = [str(place.proxy())]  # npm, by `course workshop hub`
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{hub.free_port()}"
c.JupyterHub.db_url = f"sqlite:///{place.state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(place.state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(place.state / "jupyterhub.pid")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every learner's server

# --- who may log in ------------------------------------------------------------------------------
c.JupyterHub.authenticator_class = "firstuseauthenticator.FirstUseAuthenticator"
c.FirstUseAuthenticator.dbm_path = str(place.state / "passwords.dbm")
c.FirstUseAuthenticator.min_password_length = 8
c.Authenticator.allowed_users = learners
c.Authenticator.admin_users = admins

# --- each learner's server ----------------------------------------------------------------------
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(place.python), "-m", "course_db.hub_learner"]  # copies the course, then Lab
c.Spawner.default_url = f"/lab/tree/{first_notebook().as_posix()}"
c.Spawner.pre_spawn_hook = hub.spawn_hook(place, workshop)
c.Spawner.start_timeout = 120  # the first login copies the course
c.Spawner.http_timeout = 120
# A memory limit per learner: SystemdSpawner and KubeSpawner enforce it; LocalProcessSpawner only
# passes it on (MEM_LIMIT). Each `check()` is limited by the course itself (lessons.toml).
c.Spawner.mem_limit = os.environ.get("COURSE_HUB_MEM_LIMIT", "2G")

# --- services: the class board (admins only) and the idle culler ---------------------------------
c.JupyterHub.services = [
    {
        "name": "board",
        "display": True,  # listed under Services for those who may open it: the admins
        "oauth_no_confirm": True,
        "url": f"http://127.0.0.1:{hub.free_port()}",
        "command": [str(place.python), "-m", "course_db.board_hub"],
        "environment": hub.board_environment(workshop),
    },
    {
        "name": "idle-culler",
        "command": [
            str(place.python),
            "-m",
            "jupyterhub_idle_culler",
            f"--timeout={os.environ.get('COURSE_HUB_CULL_IDLE', '3600')}",
        ],
    },
]
c.JupyterHub.load_roles = [
    {
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    },
]
