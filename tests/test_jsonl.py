"""common/jsonl.py: torn writes (a kill -9 mid-append) never cost the record after them; latest record per id."""

import json

from common.jsonl import append_jsonl, latest_records, read_jsonl


def test_append_after_a_torn_line_starts_a_new_line(tmp_path):
    path = tmp_path / "m.jsonl"
    append_jsonl(path, {"id": "a", "status": "ok"})
    with open(path, "a") as handle:
        handle.write('{"id": "b", "sta')                  # what a kill during a write leaves
    append_jsonl(path, {"id": "c", "status": "ok"})
    lines = path.read_text().splitlines()
    assert lines[1] == '{"id": "b", "sta' and json.loads(lines[2]) == {"id": "c", "status": "ok"}
    problems = []
    assert [r["id"] for r in read_jsonl(path, problems)] == ["a", "c"]
    assert len(problems) == 1 and "m.jsonl:2" in problems[0]


def test_a_line_with_no_complete_record_is_skipped_and_reported(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text('{"id": "a"}\nnot json at all {"id": \n{"id": "b"}\n')
    problems = []
    assert [r["id"] for r in read_jsonl(path, problems)] == ["a", "b"]
    assert len(problems) == 1 and "m.jsonl:2" in problems[0]


def test_latest_record_per_id_and_keyless_records(tmp_path):
    path = tmp_path / "m.jsonl"
    for record in ({"id": "a", "n": 1}, {"id": "b", "n": 2}, {"n": 3}, {"id": "a", "n": 4}):
        append_jsonl(path, record)
    assert {k: v["n"] for k, v in latest_records(path).items()} == {"a": 4, "b": 2}
    assert {k: v["n"] for k, v in latest_records(path, keep_keyless=True).items()} == {
        "a": 4, "b": 2, "<line 3 without id>": 3}
    assert latest_records(tmp_path / "missing.jsonl") == {}
