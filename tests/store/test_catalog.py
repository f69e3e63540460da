from __future__ import annotations

from discflow import store
from discflow.store import Database
from tests.utils.factories import make_content


def test_search_matches_words_prefixes_and_accents(database: Database) -> None:
    bach = make_content(
        database,
        "Bach: Goldberg Variations",
        600_000_000,
        description="Harpsichord recording",
        tags=("baroque", "keyboard"),
    )
    make_content(
        database,
        "Radiology training set",
        4_000_000_000,
        description="DICOM cases for résumé building",
        tags=("medical",),
    )
    with database.transaction() as session:
        assert [c.id for c in store.search_contents(session, "goldb")] == [bach]
        assert [c.id for c in store.search_contents(session, "harpsichord bach")] == [bach]
        assert [c.title for c in store.search_contents(session, "resume")] == [
            "Radiology training set"
        ]
        assert store.search_contents(session, "bach medical") == []
        assert [c.id for c in store.search_contents(session, "baroque")] == [bach]
        assert len(store.search_contents(session, "")) == 2
        # media filter: only the CD-sized one fits a CD-R
        assert [c.id for c in store.search_contents(session, "", media="CD-R")] == [bach]
        # characters FTS treats as syntax are just words here
        assert [c.id for c in store.search_contents(session, 'bach" * (')] == [bach]
