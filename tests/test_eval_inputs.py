"""evaluation.inputs.read_downloads over several download directories: shards of one listing, repeated ids."""

import json

from common.jsonl import append_jsonl
from evaluation.inputs import read_downloads

LISTING = {"rows": 5, "usable": 3, "damaged_id": 2}


def write_dir(path, records, listing_sha256):
    path.mkdir()
    for video_id, category, status in records:
        append_jsonl(path / "manifest.jsonl", {"id": video_id, "category": category, "status": status,
                                               "duration_s": 3600.0})
    report = {"per_category": {"food": LISTING, "travel": LISTING}}
    if listing_sha256 is not None:
        report["sha256"] = listing_sha256
    (path / "listing_report.json").write_text(json.dumps(report))
    return str(path)


def test_shards_of_one_listing_count_the_listing_once(tmp_path):
    shards = [write_dir(tmp_path / f"shard{i}", [(f"f{i}", "food", "ok"), (f"t{i}", "travel", "private")], "abc")
              for i in range(3)]
    downloads, missing = read_downloads(shards)
    assert missing is None and downloads.n_listings == 1
    assert downloads.listing == {"food": LISTING, "travel": LISTING}
    assert downloads.per_category["food"].ok == 3 and downloads.per_category["travel"].failed == 3


def test_distinct_listings_add_up_and_a_report_without_sha256_counts_alone(tmp_path):
    dirs = [write_dir(tmp_path / "a", [("f1", "food", "ok")], "abc"),
            write_dir(tmp_path / "b", [("f2", "food", "ok")], "def"),
            write_dir(tmp_path / "c", [("f3", "food", "ok")], None)]
    downloads, _ = read_downloads(dirs)
    assert downloads.n_listings == 3 and downloads.listing["food"] == {k: 3 * v for k, v in LISTING.items()}


def test_an_id_in_two_directories_counts_once_and_the_later_record_wins(tmp_path):
    first = write_dir(tmp_path / "a", [("f1", "food", "network"), ("f2", "food", "ok")], "abc")
    second = write_dir(tmp_path / "b", [("f1", "food", "ok"), ("f2", "food", "ok")], "abc")
    downloads, _ = read_downloads([first, second])
    food = downloads.per_category["food"]
    assert (food.attempted, food.ok, food.failed, food.reasons) == (2, 2, 0, {})
    assert abs(food.hours - 2.0) < 1e-9
