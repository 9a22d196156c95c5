"""Scenario files: reading, checking, and every error naming file, line and key path."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server import ScenarioError, load_scenario
from mock_server.api.operations import OPERATION_NAMES
from mock_server.contract.formats import timestamp_ms
from mock_server.core.settings import duration_ms
from mock_server.engine import Lifecycle
from mock_server.scenarios.reading import parse_scenario, shipped_scenarios
from mock_server.scenarios.safe_yaml import MAX_NODES
from mock_server.scenarios.scenario import Glob
from tests.support.hypothesis_profiles import examples


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "x.yaml")
    return caught.value.problems


def test_a_bad_duration_names_file_line_key_path_and_the_fix() -> None:
    text = "description: d\njobs:\n  - match: {nth: 1}\n    wait:\n      for: soon\n"
    assert problems(text) == [
        "x.yaml:5: jobs[0].wait.for: expected a duration such as '2s', '150ms', '1m' or a number of "
        'seconds, got "soon"'
    ]


def test_every_problem_is_listed() -> None:
    text = (
        "description: d\n"
        "clock: sometimes\n"
        "settings:\n"
        "  history_sise: 5\n"
        "  speed: -1\n"
        "faults:\n"
        "  - endpoint: statuss\n"
        "    status: 418\n"
    )
    found = problems(text)
    assert len(found) == 5
    assert found[0].startswith("x.yaml:2: clock: expected 'real', 'manual' or {per_poll: DURATION}")
    assert any(p.startswith("x.yaml:4: settings.history_sise is not a field") and "history_size" in p
               for p in found)  # fmt: skip
    assert any(p.startswith("x.yaml:5: settings.speed: expected a number above 0") for p in found)
    assert any(p.startswith("x.yaml:7: faults[0].endpoint") for p in found)
    assert any(p.startswith("x.yaml:8: faults[0].status: expected one of 400, 401") for p in found)


def test_a_missing_description_is_named() -> None:
    assert problems("name: x\n") == ["x.yaml:1: description is required: give a one-line description"]


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("", "the scenario is empty"),
        ("description: [unclosed\n", "not valid YAML"),
        ("description: !!python/object:os.system {}\n", "could not determine a constructor"),
        ("description: d\ndescription: e\n", "x.yaml:2: description: duplicate key"),
        ("- a\n- b\n", "expected an object"),
        ("description: d\nsettings: {per_folder: {true: 1}}\n", "the key true is not a string; quote it"),
        ("description: d\n1: x\n", "x.yaml:2: (the document): the key 1 is not a string"),
        ("description: d\n? [a]\n: 1\n", "a list cannot be a key"),
        ("description: d\nrepository: !!pairs [a: 1]\n", "x.yaml:2: repository: a YAML pairs is not a JSON"),
        ("description: d\nrepository: !!omap [a: 1]\n", "a YAML omap is not a JSON value"),
    ],
)
def test_broken_documents_are_refused_with_a_line(text: str, phrase: str) -> None:
    (problem,) = problems(text)
    assert problem.startswith("x.yaml:")
    assert phrase in problem


def test_an_alias_bomb_stops_at_the_node_cap() -> None:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for level in range(1, 9):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    (problem,) = problems("\n".join(lines) + "\ndescription: boom\n")
    assert f"more than {MAX_NODES} YAML nodes" in problem


def test_huge_integers_are_problems_not_crashes() -> None:
    # 400 digits overflow a float (math.isfinite raised); 5,000 pass Python's int conversion limit.
    (problem,) = problems("description: d\nsettings:\n  speed: " + "9" * 400 + "\n")
    assert problem == (
        'x.yaml:3: settings.speed: expected a number above 0 such as 2 or 0.5, got "'
        + "9" * 20
        + '... (400 digits)"'
    )
    (problem,) = problems("description: d\nsettings:\n  speed: " + "9" * 5000 + "\n")
    assert problem == "x.yaml:3: settings.speed: a number written with 5000 characters; at most 1000"
    # hex digits count too: 3,600 of them make a number Python can read but no longer print
    (problem,) = problems("description: d\nseed: 0x" + "f" * 3600 + "\n")
    assert "at most 1000" in problem


def test_a_fault_on_restart_where_it_is_not_served_is_a_warning() -> None:
    from mock_server.http.runtime import Mock

    text = "description: d\nfaults:\n  - endpoint: [status, restart]\n    status: 503\n"
    (warning,) = Mock(parse_scenario(text, "x.yaml")).warnings
    assert (
        warning == "x.yaml:3: warning: faults[0].endpoint: never fires on restart: restart is not served "
        "(set restart_endpoint: true)"
    )
    assert Mock(parse_scenario(text, "x.yaml"), overrides={"restart_endpoint": True}).warnings == ()
    assert (
        Mock(parse_scenario("description: d\nfaults: [{endpoint: '*', status: 503}]\n", "x")).warnings == ()
    )


def test_an_oversized_document_is_refused() -> None:
    (problem,) = problems("description: " + "x" * (1024 * 1024 + 1))
    assert "larger than" in problem


def test_a_full_scenario_is_read() -> None:
    scenario = parse_scenario(
        """
name: full
description: everything
seed: 3
clock: {per_poll: 250ms}
settings: {per_asset: 50ms, backend: database, status_names: {IN_PROGRESS: RUNNING}, download: json}
admin: {token: "secret-token"}
repository:
  base: empty
  assets: [{path: /content/dam/a/x.dita, type: DITATOPIC, created: "2025-09-26"}]
  generate: [{folder: /content/dam/g, folders: 3, per_folder: {OTHERS: 4}}]
jobs:
  - match: {path: "/content/dam/a*", nth: 2}
    wait: {for: 1.5, polls: 2}
    counting: {duration: 1s, fail: nope}
    processing: {per_asset: 2s, fail_at: 3, comment: broke}
    faults: [{endpoint: [status, logs], when: {nth: 2}, status: 503, retry_after: 5}]
faults:
  - {when: {window: [1s, 2m]}, latency: [10ms, 20ms]}
""",
        "full.yaml",
    )
    assert (scenario.name, scenario.seed, scenario.clock, scenario.settings_changes["poll_step_ms"]) == (
        "full",
        3,
        "per-poll",
        250,
    )
    settings = scenario.settings()
    assert settings.per_asset_ms == 50 and settings.is_database and settings.download_mode == "json"
    assert settings.status_names["IN_PROGRESS"] == "RUNNING" and settings.status_names["SUCCESS"] == "SUCCESS"
    assert settings.admin_token == "secret-token"
    repo = scenario.repository()
    assert repo.count("/content/dam") == 1 + 12
    assert repo.exists("/content/dam/g/f3/file-4.png")
    (job,) = scenario.jobs
    assert job.matches("/content/dam/ab", 2) and not job.matches("/content/dam/ab", 1)
    assert not job.matches("/content/dam/a/b", 2)  # '*' stays within a segment
    lifecycle = job.lifecycle(Lifecycle(100, 200))
    assert (lifecycle.wait_ms, lifecycle.wait_polls, lifecycle.counting_ms) == (1500, 2, 1000)
    assert (lifecycle.per_asset_ms, lifecycle.fail_at_asset, lifecycle.failure_comment) == (2000, 3, "broke")
    assert job.faults[0].endpoints == {"status", "logs"} and job.faults[0].retry_after == 5
    (fault,) = scenario.faults
    assert fault.when.window_ms == (1000, 120_000) and fault.latency_ms == (10, 20)
    assert fault.endpoints == set(OPERATION_NAMES)  # no endpoint means every one


@pytest.mark.parametrize(
    ("given", "ms"),
    [("2s", 2000), ("150ms", 150), ("1m", 60_000), ("1h", 3_600_000), (1.5, 1500), ("0.5s", 500)],
)
def test_durations(given: float | str, ms: int) -> None:
    assert duration_ms(given) == ms


def test_timestamps() -> None:
    assert timestamp_ms("2025-09-26T08:55:33Z") == 1_758_876_933_000
    assert timestamp_ms("2025-09-26 08:55:33") == 1_758_876_933_000  # UTC unless it says otherwise
    assert timestamp_ms(5) == 5


@pytest.mark.parametrize(
    ("glob", "path", "hit"),
    [("/content/dam/*", "/content/dam/x", True), ("/content/dam/*", "/content/dam/x/y", False),
     ("/content/**", "/content/dam/x/y", True), ("/content/dam/x?", "/content/dam/x1", True)],
)  # fmt: skip
def test_globs(glob: str, path: str, hit: bool) -> None:
    assert Glob(glob).matches(path) is hit


def test_at_least_ten_shipped_scenarios_each_load_and_describe_themselves() -> None:
    shipped = shipped_scenarios()
    assert len(shipped) >= 10
    for name, path in shipped.items():
        scenario = load_scenario(name)
        assert scenario.name == name == path.stem
        assert scenario.description and "\n" not in scenario.description
        assert path.read_text().startswith("#"), f"{name}: say what it shows in a comment at the top"


def test_an_unknown_scenario_name_suggests_the_nearest() -> None:
    with pytest.raises(ScenarioError, match="did you mean 'flaky-status'"):
        load_scenario("flaky-statuss")


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"description: \xff\n")
    with pytest.raises(ScenarioError, match="not UTF-8"):
        load_scenario(path)


def test_the_readme_example_is_a_valid_scenario_using_every_top_level_key() -> None:
    import json
    import re as regex

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    (example,) = regex.findall(r"```yaml\n(# my.yaml\n.*?)```", readme, flags=regex.S)
    scenario = parse_scenario(example, "README.md")
    assert scenario.name == "my-scenario" and scenario.jobs and scenario.faults
    schema = json.loads((Path(__file__).resolve().parents[2] / "schemas/scenario.schema.json").read_text())
    top_level = {line.split(":")[0] for line in example.splitlines() if regex.match(r"[a-z_]+:", line)}
    assert top_level == set(schema["properties"])


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("description: x\nfaults: &a [*a]\n", "nested deeper than"),
        ("description: x\nsettings: {per_asset: .nan}\n", "settings.per_asset"),
        ("description: x\nsettings: {per_asset: 0}\n", "per_asset: expected a duration of at least 1ms"),
        ("description: x\nsettings: {counting: .inf}\n", "settings.counting"),
        ('description: x\nrepository: {assets: [{path: /a/b, type: OTHERS, created: "2025-13-45"}]}\n',
         "repository.assets[0].created"),
        ("description: x\nsettings: {history_size: 5.0}\n", "settings.history_size: expected an integer"),
        ("description: x\nsettings: {tokens: {12345678: dev}}\n", "settings.tokens"),
        ("description: x\nfaults: [{status: 503, body: !!set {a, b}}]\n", "a YAML set is not a JSON value"),
        ("description: x\nfaults: [{status: 503, body: !!binary aGVsbG8=}]\n", "a YAML binary is not"),
        ("description: x\nrepository: {generate: [{folder: /a, folders: 20000, per_folder: {OTHERS: 1}}]}\n",
         "20000 folders in all; at most 10000"),
        ("x: " + "[" * 5000 + "]" * 5000 + "\n", "nest"),
    ],
)  # fmt: skip
def test_schema_valid_looking_values_that_cannot_load_are_problems_not_crashes(
    text: str, phrase: str
) -> None:
    found = problems(text)
    assert any(phrase in p for p in found), found
    assert all(p.startswith("x.yaml:") for p in found)


@given(
    st.lists(st.sampled_from(["a", "b", "/", "*", "**", "?"]), max_size=8).map("".join),
    st.text(alphabet="ab/", max_size=10),
)
@settings(max_examples=examples(500), deadline=None)
def test_a_glob_matches_as_its_regular_expression_would(pattern: str, path: str) -> None:
    wildcard = {"**": ".*", "*": "[^/]*", "?": "[^/]"}
    parts = re.split(r"(\*\*|\*|\?)", pattern)
    expected = re.fullmatch("".join(wildcard.get(p, re.escape(p)) for p in parts), path) is not None
    assert Glob(pattern).matches(path) is expected


def test_a_valid_scenario_is_checked_in_little_more_memory_than_its_yaml_takes() -> None:
    """The table from JSON pointer to line is made only for a refused document: for 4,500 faults it
    took 70% more than reading the YAML, a peak a second load adds to the first scenario's memory."""
    import tracemalloc
    from collections.abc import Callable

    from mock_server.scenarios.safe_yaml import read_yaml

    faults = ", ".join(["{status: 503}"] * 45)
    text = 'description: "jobs"\njobs:\n' + "".join(
        f"  - {{match: {{path: /content/dam/x{n}/**}}, faults: [{faults}]}}\n" for n in range(100)
    )
    parse_scenario(text)  # the schema and the imports, once

    def peak(read: Callable[[], object]) -> int:
        tracemalloc.start()
        try:
            read()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    yaml_only = peak(lambda: read_yaml(text, "x"))
    assert peak(lambda: parse_scenario(text)) < 1.3 * yaml_only
    with pytest.raises(ScenarioError, match=r"<scenario>:3: jobs\[0\]\.faults\[0\]\.status"):
        parse_scenario(text.replace("{status: 503}", "{status: 999}", 1))  # still its line when refused
