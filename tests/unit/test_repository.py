"""The simulated DAM and its selections."""

from __future__ import annotations

import tracemalloc

import pytest

from mock_server.core.repository import ASSET_TYPES, CONTENT_FRAGMENT, AssetFilter, Repository, normalize_path
from mock_server.engine import default_repository

IGNORED = ("/content/dam/projects/translation_output",)
EVERYTHING = AssetFilter()


def select(repo: Repository, path: str, excluded: tuple[str, ...] = (), **filt: object) -> list[str]:
    return [a.path for a in repo.select(path, excluded, AssetFilter(**filt), IGNORED)]  # type: ignore[arg-type]


def test_the_documented_folder_holds_exactly_six_processable_assets() -> None:
    repo = default_repository()
    assets = list(repo.select("/content/dam/22858", (), EVERYTHING, IGNORED))
    assert len(assets) == 6
    assert {a.type for a in assets} == set(ASSET_TYPES) - {"OTHERS"}
    assert repo.count("/content/dam/22858") == 7  # the Content Fragment is there, never processed


def test_the_default_repository_has_every_documented_folder_and_type() -> None:
    repo = default_repository()
    for path in (
        "/content/dam/status-fetch1/excluded-folder",
        "/content/dam/dita-templates",
        "/content/dam/demo",
        "/content/dam/demo1",
    ):
        assert repo.exists(path), path
    types = {a.type for a in repo.select("/", (), EVERYTHING, (), keep_fragments=True)}
    assert types == {*ASSET_TYPES, CONTENT_FRAGMENT}
    assert max(path.count("/") for path in repo.folders()) >= 6  # folders nest
    assert repo.count("/content/dam") == 198  # a few hundred assets in all (the README says 198)
    whole = len(repo.select("/content/dam", (), EVERYTHING, IGNORED))
    assert whole == 167
    assert 10_000 <= 100 + whole * 200 <= 60_000  # 10 to 60 s at the default pace


def test_excluded_paths_match_whole_segments_and_gain_a_leading_slash() -> None:
    repo = Repository()
    repo.add_asset("/content/dam/a/x.dita", "DITATOPIC", 0)
    repo.add_asset("/content/dam/ab/y.dita", "DITATOPIC", 0)
    repo.add_asset("/content/dam/a/sub/z.dita", "DITATOPIC", 0)
    assert select(repo, "/content/dam", ("content/dam/a",)) == ["/content/dam/ab/y.dita"]
    assert select(repo, "/content/dam", ("/content/dam/a/sub/",)) == [
        "/content/dam/a/x.dita",
        "/content/dam/ab/y.dita",
    ]
    assert select(repo, "/content/dam", ("/content/dam/a/x.dita",)) == [
        "/content/dam/a/sub/z.dita",
        "/content/dam/ab/y.dita",
    ]


def test_translation_output_is_ignored() -> None:
    repo = default_repository()
    assert repo.count("/content/dam/projects/translation_output") == 20
    assert select(repo, "/content/dam/projects") == []


def test_filters_select_by_type_and_inclusive_creation_time() -> None:
    repo = Repository()
    repo.add_generated("/content/dam/g", "DITATOPIC", 10, "t-{n}.dita", 1000, 10)  # 1000..1090
    repo.add_asset("/content/dam/g/m.ditamap", "DITAMAP", 1050)
    assert select(repo, "/content/dam/g", file_types=frozenset({"DITAMAP"})) == ["/content/dam/g/m.ditamap"]
    in_window = select(
        repo, "/content/dam/g", file_types=frozenset({"DITATOPIC"}), start_ms=1020, end_ms=1040
    )
    assert in_window == ["/content/dam/g/t-3.dita", "/content/dam/g/t-4.dita", "/content/dam/g/t-5.dita"]
    assert select(repo, "/content/dam/g", start_ms=1091) == []
    assert len(select(repo, "/content/dam/g", end_ms=1000)) == 1


def test_a_single_generated_asset_can_be_named_and_excluded() -> None:
    repo = Repository()
    repo.add_generated("/content/dam/g", "OTHERS", 5, "img-{n}.png", 0, 1)
    assert repo.exists("/content/dam/g/img-5.png")
    assert not repo.exists("/content/dam/g/img-6.png")
    assert not repo.exists("/content/dam/g/img-05.png")
    assert select(repo, "/content/dam/g/img-2.png") == ["/content/dam/g/img-2.png"]
    assert select(repo, "/content/dam/g", ("/content/dam/g/img-2.png",)) == [
        f"/content/dam/g/img-{n}.png" for n in (1, 3, 4, 5)
    ]


def test_a_million_asset_selection_costs_kilobytes() -> None:
    repo = Repository()
    tracemalloc.start()
    for folder in range(100):
        repo.add_generated(f"/content/dam/big/f{folder}", "DITATOPIC", 10_000, "t-{n}.dita", 0, 1)
    selection = repo.select("/content/dam/big", (), EVERYTHING, ())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(selection) == 1_000_000
    assert selection[999_999].path == "/content/dam/big/f99/t-10000.dita"
    assert peak < 1_000_000  # bytes: no list of a million assets


@pytest.mark.parametrize(
    ("given", "normal"), [("content/dam", "/content/dam"), ("/content/dam/", "/content/dam"), ("/", "/")]
)
def test_normalize_path(given: str, normal: str) -> None:
    assert normalize_path(given) == normal


def test_building_errors_name_the_problem() -> None:
    repo = Repository()
    with pytest.raises(ValueError, match="unknown asset type 'PDF'"):
        repo.add_asset("/content/dam/x.pdf", "PDF", 0)
    with pytest.raises(ValueError, match="needs '\\{n\\}'"):
        repo.add_generated("/content/dam", "OTHERS", 3, "same.png", 0, 1)


def test_walk_matches_lookup_across_block_boundaries() -> None:
    repo = default_repository()
    selection = repo.select("/content/dam", (), EVERYTHING, IGNORED)
    every = [selection[k] for k in range(len(selection))]
    assert list(selection) == every
    for start, stop in [(0, 0), (5, 9), (3, 40), (160, 500), (166, 167)]:
        assert list(selection.walk(start, stop)) == every[start:stop]
