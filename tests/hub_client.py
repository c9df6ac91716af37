"""A learner at the hub, as a browser would be: log in, start the server, run code in a kernel.

Only JupyterHub's and Jupyter Server's public interfaces: the login form, the hub's REST API with
the session's cookie and XSRF token, a token of the learner's own, and the kernel's websocket
(`execute_request`, read until the kernel is idle).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field

import requests
import websocket


@dataclass
class Learner:
    base: str  # http://127.0.0.1:PORT
    name: str
    password: str
    session: requests.Session = field(default_factory=requests.Session)
    token: str = ""

    def _xsrf(self) -> dict[str, str]:
        return {"X-XSRFToken": self.session.cookies.get("_xsrf", path="/hub/") or ""}

    def log_in(self) -> requests.Response:
        """The login form (FirstUseAuthenticator: the first login sets the password)."""
        self.session.get(f"{self.base}/hub/login", timeout=30)
        return self.session.post(
            f"{self.base}/hub/login",
            data={"username": self.name, "password": self.password, **self._form_xsrf()},
            allow_redirects=False,
            timeout=60,
        )

    def _form_xsrf(self) -> dict[str, str]:
        return {"_xsrf": self.session.cookies.get("_xsrf", path="/hub/") or ""}

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {**self._xsrf(), **kwargs.pop("headers", {})}
        if self.token:
            headers["Authorization"] = f"token {self.token}"
        return self.session.request(
            method, f"{self.base}/hub/api{path}", headers=headers, timeout=60, **kwargs
        )

    def make_token(self) -> None:
        answer = self.api("POST", f"/users/{self.name}/tokens", json={"note": "hub test"})
        answer.raise_for_status()
        self.token = answer.json()["token"]

    def start_server(self, timeout: float = 180) -> float:
        """Start the learner's server; return the seconds until the hub says it is ready."""
        began = time.monotonic()
        answer = self.api("POST", f"/users/{self.name}/server")
        if answer.status_code not in (201, 202, 400):  # 400: it is already running
            raise AssertionError(f"{answer.status_code} {answer.text}")
        while time.monotonic() - began < timeout:
            server = self.api("GET", f"/users/{self.name}").json()["servers"].get("", {})
            if server.get("ready"):
                return time.monotonic() - began
            time.sleep(0.25)
        raise AssertionError(f"{self.name}'s server was not ready after {timeout} s")

    def server_url(self, path: str) -> str:
        return f"{self.base}/user/{self.name}{path}"

    def get(self, path: str) -> requests.Response:
        return requests.get(
            self.server_url(path), headers={"Authorization": f"token {self.token}"}, timeout=60
        )

    def start_kernel(self) -> str:
        answer = requests.post(
            self.server_url("/api/kernels"),
            headers={"Authorization": f"token {self.token}"},
            json={"name": "python3"},
            timeout=60,
        )
        answer.raise_for_status()
        return answer.json()["id"]

    def run(self, kernel: str, code: str, timeout: float = 180) -> str:
        """Run `code` in the kernel; return what it printed (stdout, results, errors)."""
        url = self.server_url(f"/api/kernels/{kernel}/channels").replace("http", "ws", 1)
        ws = websocket.create_connection(
            url, header=[f"Authorization: token {self.token}"], timeout=timeout
        )
        try:
            msg_id = uuid.uuid4().hex
            ws.send(json.dumps(_execute_request(msg_id, code)))
            out: list[str] = []
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                msg = json.loads(ws.recv())
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = msg["msg_type"], msg["content"]
                if kind == "stream":
                    out.append(content["text"])
                elif kind in ("execute_result", "display_data"):
                    out.append(content["data"].get("text/plain", ""))
                elif kind == "error":
                    out.append("\n".join(content["traceback"]))
                elif kind == "status" and content["execution_state"] == "idle":
                    return "".join(out)
            raise AssertionError(f"no answer from the kernel in {timeout} s: {''.join(out)}")
        finally:
            ws.close()


def _execute_request(msg_id: str, code: str) -> dict:
    return {
        "header": {
            "msg_id": msg_id,
            "msg_type": "execute_request",
            "username": "",
            "session": uuid.uuid4().hex,
            "version": "5.3",
        },
        "parent_header": {},
        "metadata": {},
        "content": {
            "code": code,
            "silent": False,
            "store_history": False,
            "user_expressions": {},
            "allow_stdin": False,
        },
        "channel": "shell",
    }
