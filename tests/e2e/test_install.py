"""A newcomer's path: install the project into a fresh venv and serve it from another folder."""

from __future__ import annotations

import os
import subprocess
import venv
from pathlib import Path

import pytest

from tests.support.dev_server import serving, start_and_poll, stop

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_a_fresh_install_serves_the_default_repository_from_another_folder(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = str(env_dir / "bin" / "python")
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(ROOT)],
        check=True,
        env=environment,
        timeout=600,
        capture_output=True,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    located = subprocess.run(
        [python, "-c", "from mock_server.contract.schemas import schema_dir; print(schema_dir())"],
        cwd=elsewhere, capture_output=True, text=True, check=True, env=environment,
    )  # fmt: skip
    assert located.stdout.startswith(str(env_dir))  # the schemas come from the wheel, not the checkout
    with serving(command=[str(env_dir / "bin" / "aem-guides-mock")], cwd=elsewhere) as (process, url, _):
        start_and_poll(url)  # every request and response passes the schemas shipped in the wheel
        assert stop(process) < 5
        assert process.returncode == 0
