"""`course lab` compiles the environment's libraries once, in the background."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from course_db import bytecode


def test_site_packages_are_compiled_once_and_marked_with_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site-packages"
    (site / "somelib").mkdir(parents=True)
    (site / "somelib" / "__init__.py").write_text("VALUE = 1\n")
    monkeypatch.setattr(bytecode, "site_packages", lambda: site)
    started = bytecode.compile_in_background()
    assert started is not None and started.wait(timeout=120) == 0
    tag = sys.implementation.cache_tag
    assert (site / "somelib" / "__pycache__" / f"__init__.{tag}.pyc").exists()
    assert (site / bytecode.MARKER).read_text() == bytecode.lock_hash()
    assert bytecode.compiled() and bytecode.compile_in_background() is None  # done: not again
    (site / bytecode.MARKER).write_text("an older lock\n")  # `uv sync` after a lock change
    assert not bytecode.compiled()
