"""The facts database: migrations, atomic transactions."""

from __future__ import annotations

import pytest

from vectorstore.facts_db import MIGRATIONS, FactsDB


def test_reopening_keeps_data_and_schema_version(tmp_path):
    db = FactsDB(tmp_path / "f.sqlite3")
    with db.transaction() as conn:
        FactsDB.set_meta(conn, "k", "v")
    db.close()
    again = FactsDB(tmp_path / "f.sqlite3")
    assert again.get_meta("k") == "v"
    assert again._conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert again._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_several_meta_values_come_in_the_order_asked_with_none_for_the_missing(tmp_path):
    db = FactsDB(tmp_path / "f.sqlite3")
    with db.transaction() as conn:
        FactsDB.set_meta(conn, "a", "1")
        FactsDB.set_meta(conn, "b", "2")
    assert db.get_metas(["b", "missing", "a"]) == ("2", None, "1")
    assert db.get_metas([]) == ()


def test_a_failed_transaction_changes_nothing(tmp_path):
    db = FactsDB(tmp_path / "f.sqlite3")
    with pytest.raises(RuntimeError), db.transaction() as conn:
        FactsDB.set_meta(conn, "k", "v")
        raise RuntimeError("boom")
    assert db.get_meta("k") is None


def test_a_visibilitys_chunk_ids_in_document_order_come_from_an_index_alone(tmp_path):
    """What each ingest derives the lexical index in: no chunk row (with its text) is read,
    nothing is sorted."""
    db = FactsDB(tmp_path / "f.sqlite3")
    plan = " ".join(
        str(row[-1])
        for row in db._conn.execute(
            "EXPLAIN QUERY PLAN SELECT chunk_id FROM chunks WHERE visibility = ? "
            "ORDER BY doc_id, ord",
            ("public",),
        )
    )
    assert "COVERING INDEX chunks_by_visibility_doc" in plan
    assert "TEMP B-TREE" not in plan
    with db.transaction() as conn:
        assert FactsDB.lexical_order(conn, "public") == []
    db.close()


def test_a_checkpoint_copies_the_log_into_the_file_while_another_process_reads(tmp_path):
    """A reader looks every page up in the log first; a process that only reads never copies
    it. The log is copied even while another connection stays open, and emptied on request."""
    import sqlite3

    path = tmp_path / "f.sqlite3"
    db = FactsDB(path)
    reader = sqlite3.connect(path)  # a serving process that keeps its connection
    reader.execute("SELECT COUNT(*) FROM meta").fetchone()
    with db.transaction() as conn:
        for n in range(2000):
            FactsDB.set_meta(conn, f"key-{n}", "x" * 200)
    wal = tmp_path / "f.sqlite3-wal"
    before = path.stat().st_size
    assert wal.stat().st_size > before  # what was written is in the log only
    assert db.checkpoint()
    assert path.stat().st_size > before + 2000 * 200  # now in the file
    assert db.checkpoint(wait=True) and wal.stat().st_size == 0
    assert reader.execute("SELECT COUNT(*) FROM meta").fetchone()[0] >= 2000
    reader.close()


def test_rows_in_reads_every_id_once_across_batches_with_leading_parameters(tmp_path):
    """Lookups by many ids (more than one statement's host parameters) find every row once,
    repeats included, with parameters bound before the ids."""
    import sqlite3

    from vectorstore.sqlite_files import IN_BATCH, rows_in

    conn = sqlite3.connect(tmp_path / "t.sqlite3")
    conn.execute("CREATE TABLE t (kind TEXT, id TEXT)")
    ids = [f"id{n}" for n in range(IN_BATCH * 2 + 7)]
    conn.executemany("INSERT INTO t VALUES (?, ?)", [("a", i) for i in ids] + [("b", ids[0])])
    asked = [*ids, ids[3], "missing"]
    rows = rows_in(conn, "SELECT kind, id FROM t WHERE kind = ? AND id IN", asked, ("a",))
    assert sorted(row[1] for row in rows) == sorted(ids)
    assert {row[0] for row in rows} == {"a"}
    conn.close()
