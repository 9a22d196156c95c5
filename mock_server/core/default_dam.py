"""The embedded default DAM, reproducing the documented examples.

- ``/content/dam/22858`` holds exactly 6 processable assets (and one Content Fragment), as in the
  history example;
- ``/content/dam/status-fetch1`` has the subfolder ``excluded-folder`` of the start example;
- ``/content/dam/dita-templates``, ``/content/dam/demo`` and ``/content/dam/demo1`` exist;
- every asset type appears, folders nest, and ``projects/translation_output`` holds assets that are
  never processed. A job over all of ``/content/dam`` processes 167 assets: about 33 s at the
  default pace of 200 ms per asset.
"""

from __future__ import annotations

from .repository import Repository

__all__ = ["default_repository"]

DAY_MS = 86_400_000
#: 2025-06-01T00:00:00Z; the documented filter example (1758876933000) falls inside the range.
BASE_MS = 1_748_736_000_000

_EXPLICIT: tuple[tuple[str, str, int], ...] = (
    # path, type, day after BASE_MS
    ("/content/dam/22858/topic-1.dita", "DITATOPIC", 10),
    ("/content/dam/22858/topic-2.dita", "DITATOPIC", 11),
    ("/content/dam/22858/user-guide.ditamap", "DITAMAP", 12),
    ("/content/dam/22858/README.md", "MARKDOWN", 13),
    ("/content/dam/22858/styles.css", "HTML/CSS", 14),
    ("/content/dam/22858/print.ditaval", "DITAVAL", 15),
    ("/content/dam/22858/product-facts", "CONTENT_FRAGMENT", 16),
    ("/content/dam/status-fetch1/intro.dita", "DITATOPIC", 40),
    ("/content/dam/status-fetch1/concepts.dita", "DITATOPIC", 41),
    ("/content/dam/status-fetch1/status.ditamap", "DITAMAP", 42),
    ("/content/dam/status-fetch1/diagram.png", "OTHERS", 43),
    ("/content/dam/status-fetch1/excluded-folder/old-topic.dita", "DITATOPIC", 44),
    ("/content/dam/status-fetch1/excluded-folder/old.ditamap", "DITAMAP", 45),
    ("/content/dam/status-fetch1/excluded-folder/notes.md", "MARKDOWN", 46),
    ("/content/dam/dita-templates/topics/concept.dita", "DITATOPIC", 60),
    ("/content/dam/dita-templates/topics/task.dita", "DITATOPIC", 60),
    ("/content/dam/dita-templates/topics/reference.dita", "DITATOPIC", 60),
    ("/content/dam/dita-templates/topics/glossentry.dita", "DITATOPIC", 60),
    ("/content/dam/dita-templates/maps/bookmap.ditamap", "DITAMAP", 61),
    ("/content/dam/dita-templates/maps/map.ditamap", "DITAMAP", 61),
    ("/content/dam/dita-templates/ditavals/audience.ditaval", "DITAVAL", 62),
    ("/content/dam/demo/index.html", "HTML/CSS", 90),
    ("/content/dam/demo/guide.ditamap", "DITAMAP", 90),
    ("/content/dam/demo/quickstart.ditamap", "DITAMAP", 91),
    ("/content/dam/demo1/demo1.ditamap", "DITAMAP", 100),
)

_GENERATED: tuple[tuple[str, str, int, str, int, int], ...] = (
    # folder, type, count, name, first day, days apart
    ("/content/dam/demo", "DITATOPIC", 12, "topic-{n}.dita", 92, 1),
    ("/content/dam/demo/images", "OTHERS", 3, "figure-{n}.png", 95, 2),
    ("/content/dam/demo1", "DITATOPIC", 8, "topic-{n}.dita", 101, 1),
    ("/content/dam/demo1", "MARKDOWN", 2, "note-{n}.md", 105, 3),
    ("/content/dam/products/alpha/docs", "DITATOPIC", 30, "alpha-topic-{n}.dita", 110, 1),
    ("/content/dam/products/alpha/docs", "DITAMAP", 3, "alpha-map-{n}.ditamap", 140, 1),
    ("/content/dam/products/alpha/images", "OTHERS", 20, "alpha-image-{n}.png", 112, 1),
    ("/content/dam/products/beta/docs", "DITATOPIC", 25, "beta-topic-{n}.dita", 150, 1),
    ("/content/dam/products/beta/docs", "DITAMAP", 2, "beta-map-{n}.ditamap", 175, 2),
    ("/content/dam/products/beta/docs", "MARKDOWN", 5, "beta-readme-{n}.md", 160, 1),
    ("/content/dam/products/beta/docs/release-notes", "MARKDOWN", 8, "release-{n}.md", 170, 7),
    ("/content/dam/products/beta/web", "HTML/CSS", 6, "page-{n}.html", 180, 1),
    ("/content/dam/products/gamma", "DITATOPIC", 15, "gamma-topic-{n}.dita", 190, 1),
    ("/content/dam/products/gamma", "DITAVAL", 4, "gamma-{n}.ditaval", 200, 1),
    ("/content/dam/products/gamma/fragments", "CONTENT_FRAGMENT", 10, "fragment-{n}", 195, 1),
    ("/content/dam/projects/translation_output/fr", "DITATOPIC", 20, "topic-{n}.dita", 205, 0),
)


def default_repository() -> Repository:
    """A fresh copy of the embedded default DAM."""
    repo = Repository()
    for path, asset_type, day in _EXPLICIT:
        repo.add_asset(path, asset_type, BASE_MS + day * DAY_MS)
    for folder, asset_type, count, name, day, apart in _GENERATED:
        repo.add_generated(folder, asset_type, count, name, BASE_MS + day * DAY_MS, apart * DAY_MS)
    return repo
