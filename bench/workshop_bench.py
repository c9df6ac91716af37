"""Measure a workshop at class size on a shared PostgreSQL: provisioning, simultaneous checks, disk.

    COURSE_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \\
        uv run python bench/workshop_bench.py [--learners 30] [--rounds 2] [--skip-05]

Size the server as the README says (max_connections about 10 per learner plus 20); the bench
says so when it is smaller. It makes its own class (`bench<hex>`), so it touches nobody's
databases, and ends it at the end (even on Ctrl-C). Every learner runs as a separate `course`
process with only their join line's URL, exactly as in a classroom. It prints a Markdown
table; it is a report, not a test (exit 0).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from course_db import roles, workshop  # noqa: E402
from course_db.lessons import all_lessons  # noqa: E402
from course_db.server import get_server  # noqa: E402

NOT_INHERITED = ("COURSE_DATABASE_URL", "COURSE_DB_PREFIX", "COURSE_SOURCE", "COURSE_LEARNER")


@dataclass
class Run:
    learner: str
    code: int
    seconds: float
    stderr: str
    stdout: str = ""

    def why(self) -> str:
        """The last lines the learner would read: what failed."""
        text = (self.stderr.strip() or self.stdout.strip()).splitlines()
        return " / ".join(line.strip() for line in text[-3:])[:400]


class Peak:
    """Samples the class's connections (and the server's) every 50 ms in a thread."""

    def __init__(self, server, group: str) -> None:
        self.server, self.group = server, group
        self.class_peak = self.total_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Peak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with psycopg.connect(**self.server.conninfo(), autocommit=True) as conn:
            while not self._stop.is_set():
                mine, total = conn.execute(
                    "SELECT count(*) FILTER (WHERE usename LIKE %s), count(*) "
                    "FROM pg_stat_activity WHERE backend_type = 'client backend'",
                    (self.group + "\\_%",),
                ).fetchone()
                self.class_peak = max(self.class_peak, mine)
                self.total_peak = max(self.total_peak, total)
                time.sleep(0.05)


def learner_env(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    env.update(COURSE_DATABASE_URL=url, PYTHONDONTWRITEBYTECODE="1", **extra)
    return env


def course(url: str, *args: str, **extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "course"), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=learner_env(url, **extra),
    )


def at_once(urls: dict[str, str], args: list[str], **extra: str) -> tuple[list[Run], float]:
    """Start one `course ARGS` per learner at the same moment; wait for all."""
    started = time.perf_counter()
    procs = {name: (course(url, *args, **extra), time.perf_counter()) for name, url in urls.items()}
    runs = []
    for name, (proc, began) in procs.items():
        out, err = proc.communicate(timeout=900)
        runs.append(Run(name, proc.returncode, time.perf_counter() - began, err, out))
    return runs, time.perf_counter() - started


def leftovers(server, group: str, wait: float = 30.0) -> int:
    """Check databases of the class still there `wait` s after the checks answered."""
    deadline = time.monotonic() + wait
    while True:
        with psycopg.connect(**server.conninfo(), autocommit=True) as conn:
            count = conn.execute(
                "SELECT count(*) FROM pg_database WHERE datname LIKE %s",
                (group + "\\_%\\_check\\_%",),
            ).fetchone()[0]
        if count == 0 or time.monotonic() > deadline:
            return count
        time.sleep(0.5)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def row(label: str, runs: list[Run], wall: float, want: int, peak: Peak, left: int) -> str:
    times = [run.seconds for run in runs]
    right = sum(run.code == want for run in runs)
    errors = sum(run.code == 2 or "Traceback" in run.stderr for run in runs)
    return (
        f"| {label} | {right}/{len(runs)} | {errors} | {wall:.1f} s | "
        f"{statistics.median(times):.2f} s | {pct(times, 0.95):.2f} s | "
        f"{peak.class_peak} ({peak.total_peak} on the server) | {left} |"
    )


def disk_per_learner(server, group: str, url: str, role: str) -> tuple[float, int]:
    """MB of the databases `role` owns after `course reset NN` and `course check NN` of every
    lesson (a learner who opened every exercise and checked it once), once clean-ups ran."""
    for lesson in all_lessons():
        if lesson.ready:
            course(url, "reset", lesson.number).communicate()
            course(url, "check", lesson.number).communicate()
    leftovers(server, group)
    with psycopg.connect(**server.conninfo(), autocommit=True) as conn:
        size, count = conn.execute(
            "SELECT coalesce(sum(pg_database_size(oid)), 0), count(*) FROM pg_database "
            "WHERE pg_get_userbyid(datdba) = %s",
            (role,),
        ).fetchone()
    return size / 2**20, count


def class_disk(server, group: str) -> float:
    with psycopg.connect(**server.conninfo(), autocommit=True) as conn:
        size = conn.execute(
            "SELECT coalesce(sum(pg_database_size(oid)), 0) FROM pg_database "
            "WHERE datname LIKE %s AND datname NOT LIKE %s",
            (group + "\\_%", group + "\\_l%"),
        ).fetchone()[0]
    return size / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--skip-05", action="store_true", help="leave out lesson 05 at once")
    parser.add_argument("--skip-disk", action="store_true", help="leave out the disk row")
    parser.add_argument(
        "--timeout",
        type=float,
        help="pass `--timeout` to every check (default: the lesson's limit); on a machine that "
        "also runs all the learners' Python, CPU starvation alone can exceed a lesson's limit",
    )
    args = parser.parse_args()
    if not os.environ.get("COURSE_DATABASE_URL"):
        print("Set COURSE_DATABASE_URL to the admin URL of the server to measure.")
        return 0
    limit_args = ["--timeout", str(args.timeout)] if args.timeout else []
    server = get_server()
    name = "bench" + secrets.token_hex(2)
    group = roles.group_role(name)
    names = [f"l{i:02d}" for i in range(1, args.learners + 1)]
    with psycopg.connect(**server.conninfo(), autocommit=True) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        limit = conn.execute("SHOW max_connections").fetchone()[0]
    print(
        f"PostgreSQL {version} at {server.host}:{server.port or 5432} (max_connections {limit}), "
        f"{os.cpu_count()} cores, {args.learners} learners, class {group}, check limit "
        f"{args.timeout or 'the lesson' + chr(39) + 's'}\n"
    )
    wanted = 10 * args.learners + 20  # the README's sizing
    if int(limit) < wanted:
        print(
            f"NOTE: max_connections {limit} is below the README's {wanted} for {args.learners} "
            "learners: checks that start at once may be refused a connection.\n"
        )
    lines = ["| what | right verdicts | errors | wall | p50 | p95 | peak connections | leftovers |"]
    lines.append("|---|---|---|---|---|---|---|---|")
    folder = Path(tempfile.mkdtemp(prefix="course-bench-"))
    try:
        (folder / "learners.txt").write_text("\n".join(names) + "\n")
        init_argv = [str(ROOT / ".venv" / "bin" / "course"), "workshop", "init"]
        init_argv += ["--workshop", name, "--learners", str(folder / "learners.txt")]
        began = time.perf_counter()
        init = subprocess.run(
            init_argv,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        init_seconds = time.perf_counter() - began
        if init.returncode != 0:
            print(init.stderr)
            return 0
        urls = {line.split("\t")[0]: line.split("=", 1)[1] for line in init.stdout.splitlines()}
        began = time.perf_counter()
        subprocess.run(
            init_argv,
            cwd=ROOT,
            capture_output=True,
        )
        rerun_seconds = time.perf_counter() - began
        print(
            f"`course workshop init` for {len(urls)} learners: {init_seconds:.1f} s "
            f"(templates built, target <= 30 s); re-run: {rerun_seconds:.1f} s\n"
        )
        first = names[0]
        with Peak(server, group) as peak:  # one learner alone: what the class's numbers compare to
            runs, wall = at_once({first: urls[first]}, ["check", "01", *limit_args])
        lines.append(row("1 x `course check 01`, starter, alone", runs, wall, 1, peak, 0))
        for round_ in range(1, args.rounds + 1):
            for label, want, extra in (
                ("solution", 0, {"COURSE_SOURCE": "solutions"}),
                ("starter", 1, {}),
            ):
                with Peak(server, group) as peak:
                    runs, wall = at_once(urls, ["check", "01", *limit_args], **extra)
                left = leftovers(server, group)
                text = f"{len(urls)} x `course check 01`, {label}, round {round_}"
                lines.append(row(text, runs, wall, want, peak, left))
                for run in runs:
                    if run.code != want:
                        print(f"  {run.learner}: exit {run.code}: {run.why()}")
        if not args.skip_05:
            with Peak(server, group) as peak:
                runs, wall = at_once(urls, ["check", "05", *limit_args], COURSE_SOURCE="solutions")
            left = leftovers(server, group, wait=60)
            lines.append(
                row(f"{len(urls)} x `course check 05`, solution", runs, wall, 0, peak, left)
            )
            for run in runs:
                if run.code != 0:
                    print(f"  05 {run.learner}: exit {run.code}: {run.why()}")
        print("\n".join(lines))
        if not args.skip_disk:
            size, count = disk_per_learner(
                server, group, urls[first], roles.learner_role(group, first)
            )
            shared = class_disk(server, group)
            print(
                f"\nDisk per learner after `course reset NN` + `course check NN` of every lesson: "
                f"{size:.1f} MB in {count} databases (target <= 120 MB). The class's shared "
                f"templates and progress: {shared:.1f} MB in all ({shared / len(urls):.1f} MB per "
                f"learner at {len(urls)})."
            )
    finally:
        began = time.perf_counter()
        ending = workshop.end(server, name)
        print(
            f"\n`course workshop end`: dropped {len(ending.roles)} roles and "
            f"{len(ending.databases)} databases in {time.perf_counter() - began:.1f} s"
        )
        shutil.rmtree(workshop.join_file(name).parent, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
