"""The README's examples run, so they cannot go stale."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
# The examples at the top level of the README; a block indented in a list (the container recipes)
# needs a container engine and is run where one is (tests/e2e/test_container.py, examples/clients/).
PYTHON = re.findall(r"^```python\n(.*?)^```", README, flags=re.S | re.M)


def test_the_readme_has_python_examples() -> None:
    assert len(PYTHON) >= 2


def test_the_plain_python_example_runs() -> None:
    (script,) = [block for block in PYTHON if "def test_" not in block]
    exec(compile(script, "README.md", "exec"), {"__name__": "readme"})  # our own README


@pytest.mark.parametrize("module", [block for block in PYTHON if "def test_" in block])
def test_the_pytest_examples_pass(pytester: pytest.Pytester, module: str) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_readme_example=module)
    tests = module.count("\ndef test_")
    assert tests >= 2
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=tests)


def test_the_shell_example_is_the_script_the_tests_run() -> None:
    script = (ROOT / "examples" / "ready-file.sh").read_text(encoding="utf-8")
    assert f"```sh\n{script}```" in README
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        ["bash", str(ROOT / "examples" / "ready-file.sh")],
        capture_output=True, text=True, timeout=60, env=environment,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    # seeded-replay: the first id comes from seed 42, the same on every run
    assert re.fullmatch(r'\{"processingId":"[0-9a-f-]{36}"\}', result.stdout)
