"""Listing parser, classification, id safety, sharding, error reasons and id repair: offline, no downloads."""

import csv
import json
import subprocess
import sys

import pytest

from download.policy import classify_error
from download.ids import (DAMAGED, EMPTY, GENERIC, NAME_ERROR, UNPARSEABLE, YOUTUBE, UnsafeIdError, check_safe_id,
                          generic_id, kaggle_strip, parse_link)
from download.listing import (ListingError, ListingRow, classify_listing, parse_shard, read_listing, resolve_source,
                              select_videos, shard_of)
from download.repair import choose_repair, normalize_title, repair_rows
from testing import ROOT, SHARED

VID = "dQw4w9WgXcQ"


@pytest.mark.parametrize("link", [
    VID, f" {VID} ",
    f"https://www.youtube.com/watch?v={VID}", f"http://youtube.com/watch?v={VID}&t=42s&list=PL123",
    f"https://www.youtube.com/watch?feature=share&v={VID}", f"https://m.youtube.com/watch?v={VID}",
    f"https://music.youtube.com/watch?v={VID}&si=abc", f"https://youtu.be/{VID}", f"https://youtu.be/{VID}?t=10",
    f"https://www.youtube.com/shorts/{VID}", f"https://www.youtube.com/embed/{VID}?start=3",
    f"https://www.youtube-nocookie.com/embed/{VID}", f"https://www.youtube.com/live/{VID}",
    f"https://www.youtube.com/v/{VID}", f"www.youtube.com/watch?v={VID}", f"youtu.be/{VID}",
    f"HTTPS://WWW.YOUTUBE.COM/watch?v={VID}",
])
def test_every_youtube_form_gives_the_id(link):
    parsed = parse_link(link)
    assert (parsed.kind, parsed.video_id, parsed.url) == (YOUTUBE, VID, f"https://www.youtube.com/watch?v={VID}")


@pytest.mark.parametrize("link,kind", [
    ("", EMPTY), ("   ", EMPTY), ("#NAME?", NAME_ERROR),
    ("7BMd70vfoI", DAMAGED), ("nZIULGD0", DAMAGED),
    ("watch", UNPARSEABLE),                        # ends with a strip character: cannot be a strip product
    ("dQw4w9WgXcQQ", UNPARSEABLE), ("dQw4w9 WgXcQ", UNPARSEABLE), ("#VALUE!", UNPARSEABLE),
    ("https://www.youtube.com/watch?v=short", UNPARSEABLE), ("https://www.youtube.com/channel/UCxyz", UNPARSEABLE),
    ("ftp://example.org/a.webm", UNPARSEABLE),
    ("http://127.0.0.1:8000/media/a.webm", GENERIC), ("https://example.org/talk.m4a?sig=1", GENERIC),
])
def test_bad_and_other_rows_are_classified(link, kind):
    assert parse_link(link).kind == kind


def test_generic_ids_are_safe_and_never_collide():
    a, b = generic_id("http://h/a/tone.webm"), generic_id("http://h/b/tone.webm")
    assert a != b and a.startswith("tone-webm-") and b.startswith("tone-webm-")
    for url in ["http://h/", "http://h/../../etc/passwd", "http://h/%00x", "http://h/a b/ü.m4a?x=/../y"]:
        vid = generic_id(url)
        assert check_safe_id(vid) == vid and len(vid) >= 12 and "/" not in vid and "." not in vid


@pytest.mark.parametrize("bad", ["../etc", "a/b", "a\\b", "a\x00b", "", ".", "..", "x" * 129, ".hidden", "a..b",
                                 "a b", None])
def test_ids_that_could_escape_the_folder_are_rejected(bad):
    with pytest.raises(UnsafeIdError):
        check_safe_id(bad)


@pytest.mark.parametrize("good", ["dQw4w9WgXcQ", "-abcdefghij", "x" * 128, "clip.v2", "food_00-a1b2c3"])
def test_one_id_rule_for_download_and_prepare(good):
    from prepare.sources import is_valid_id
    assert check_safe_id(good) == good and is_valid_id(good)


def test_kaggle_strip_reproduces_the_damage():
    assert kaggle_strip("w7BMd70vfoI") == "7BMd70vfoI"
    assert kaggle_strip("hatsup-1234") == "-1234"        # every leading strip character goes, not a prefix


def _write_csv(path, rows, header=("link", "title", "description", "category")):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_classification_counts_every_row_kind(tmp_path):
    rows = [
        (VID, "a", "d", "food"), (f"https://youtu.be/{VID}", "a", "d", "food"),          # duplicate collapsed
        ("kMwMTKh5jfM", "b", "d", "food"), ("kMwMTKh5jfM", "b", "d", "travel"),           # conflicting: both out
        ("7BMd70vfoI", "c", "d", "travel"), ("#NAME?", "e", "d", "travel"), ("", "f", "d", "travel"),
        ("not an id!", "g", "d", "travel"), ("http://127.0.0.1:9/x.webm", "h", "d", "travel"),
    ]
    listing = classify_listing(read_listing(_write_csv(tmp_path / "l.csv", rows)))
    assert [v.id for v in listing.videos] == [VID, generic_id("http://127.0.0.1:9/x.webm")]
    assert listing.videos[0].rows == [1, 2]
    assert listing.conflicts == {"kMwMTKh5jfM": ["food", "travel"]}
    assert listing.counts()["food"] == {"rows": 3, "usable": 1, "duplicate": 1, "conflicting": 1, "damaged": 0,
                                        "name_error": 0, "empty": 0, "unparseable": 0, "repaired": 0}
    assert listing.totals() == {"rows": 9, "usable": 2, "duplicate": 1, "conflicting": 2, "damaged": 1,
                                "name_error": 1, "empty": 1, "unparseable": 1, "repaired": 0}


def test_columns_are_found_by_name_or_content_and_text_lists_work(tmp_path):
    path = _write_csv(tmp_path / "x.csv", [("food", f"https://youtu.be/{VID}", "T")], header=("Label", "whatever", "Title"))
    (row,) = read_listing(path)
    assert (row.link, row.category, row.title) == (f"https://youtu.be/{VID}", "food", "T")
    text = tmp_path / "urls.txt"
    text.write_text(f"# my list\nhttp://127.0.0.1:1/a.webm travel\n\n{VID}\n")
    rows = read_listing(text)
    assert [(r.row, r.parsed.kind, r.category) for r in rows] == [(2, GENERIC, "travel"), (4, YOUTUBE, "unlabeled")]


def test_unreadable_listings_fail_with_the_source_named(tmp_path):
    with pytest.raises(ListingError, match="nope.csv: no such file"):
        read_listing(tmp_path / "nope.csv")
    bad = _write_csv(tmp_path / "bad.csv", [("hello", "world")], header=("a", "b"))
    with pytest.raises(ListingError, match=r"bad.csv: no id/URL column among \['a', 'b'\]"):
        read_listing(bad)
    (tmp_path / "noheader.csv").write_text("dQw4w9WgXcQ,food\nhttps://youtu.be/9bZkp7q19f0,travel\n")
    with pytest.raises(ListingError, match=r"noheader.csv: its first row 'dQw4w9WgXcQ,food' looks like data"):
        read_listing(tmp_path / "noheader.csv")
    with pytest.raises(ListingError, match="kaggle:OWNER/DATASET"):
        resolve_source("kaggle:onlyowner")


def test_kaggle_source_offline_fails_clearly(monkeypatch):
    import kagglehub

    def offline(*args, **kwargs):
        raise ConnectionError("Failed to resolve 'www.kaggle.com'")
    monkeypatch.setattr(kagglehub, "dataset_download", offline)
    with pytest.raises(ListingError, match=r"could not fetch Kaggle dataset 'rajatrc1705/youtube-videos-dataset'.*network"):
        read_listing("kaggle:rajatrc1705/youtube-videos-dataset/youtube.csv")


def test_shards_partition_the_ids_deterministically():
    ids = [f"vid{i:08d}" for i in range(400)]
    assert parse_shard("2/3") == (2, 3)
    parts = [[i for i in ids if shard_of(i, 3) == k] for k in (1, 2, 3)]
    assert sorted(sum(parts, [])) == ids and all(80 < len(p) < 190 for p in parts)
    assert shard_of("dQw4w9WgXcQ", 7) == 7              # a sha256 of the id: the same on every machine
    for bad in ("0/3", "4/3", "3", "a/b"):
        with pytest.raises(ListingError, match="--shard"):
            parse_shard(bad)


def test_select_videos_by_category_and_unknown_category_is_an_error(tmp_path):
    rows = [(VID, "a", "d", "food"), ("kMwMTKh5jfM", "b", "d", "travel")]
    listing = classify_listing(read_listing(_write_csv(tmp_path / "l.csv", rows)))
    assert [v.id for v in select_videos(listing.videos, ["travel"])] == ["kMwMTKh5jfM"]
    with pytest.raises(ListingError, match=r"\['sport'\] not in the listing"):
        select_videos(listing.videos, ["sport"])


@pytest.mark.parametrize("message,expected", [
    ("ERROR: [youtube] x: Sign in to confirm you’re not a bot. Use --cookies-from-browser", ("bot_check", True)),
    ("HTTP Error 429: Too Many Requests", ("rate_limited", True)),
    ("This content isn't available, try again later.", ("session_rate_limited", True)),
    ("ERROR: [youtube] x: Private video. Sign in if you've been granted access", ("private", False)),
    ("ERROR: [youtube] x: Video unavailable. This video has been removed by the uploader", ("removed", False)),
    ("Sign in to confirm your age. This video may be inappropriate for some users.", ("age_restricted", False)),
    ("The uploader has not made this video available in your country", ("geo_restricted", False)),
    ("Video unavailable. This video is not available in your country", ("geo_restricted", False)),
    ("ERROR: [generic] Unable to download webpage: HTTP Error 404: Not Found", ("not_found", False)),
    ("ERROR: Unsupported URL: http://127.0.0.1/page.webm", ("not_media", False)),
    ("HTTP Error 503: Service Unavailable", ("server_error", True)),
    ("[Errno 111] Connection refused", ("network", True)),
    ("something nobody expected", ("error", False)),
])
def test_error_messages_get_reason_codes(message, expected):
    assert classify_error(message) == expected


# ---------------------------------------------------------------- repair (injected fake search)

def _row(link, title, row=1, category="travel"):
    return ListingRow(row=row, link=link, category=category, title=title)


def test_repair_accepts_only_a_candidate_that_strips_to_the_damaged_id():
    row = _row("7BMd70vfoI", "Paris in 4K — Walking Tour!")
    good = {"id": "w7BMd70vfoI", "title": "paris in 4k walking tour"}
    assert choose_repair(row, [{"id": "x7BMd70vfoI", "title": row.title}, good])[0] == "w7BMd70vfoI"
    assert choose_repair(row, [{"id": "w7BMd70vfoI", "title": "Rome in 4K"}])[0] is None      # titles disagree
    assert choose_repair(row, [{"id": "z7BMd70vfoI", "title": row.title}])[0] is None         # 'z' is never stripped
    two = [{"id": "w7BMd70vfoI", "title": row.title}, {"id": "h7BMd70vfoI", "title": row.title}]
    assert choose_repair(row, two) == (None, "ambiguous: 2 candidates fit")


def test_name_error_rows_need_an_exact_unique_title_match():
    row = _row("#NAME?", "Street food in Hanoi")
    assert choose_repair(row, [{"id": "-abcdefghij", "title": "Street Food in Hanoi!"}])[0] == "-abcdefghij"
    dup = [{"id": "-abcdefghij", "title": row.title}, {"id": "-bbcdefghij", "title": row.title}]
    assert choose_repair(row, dup)[0] is None
    assert choose_repair(row, [{"id": "-abcdefghij", "title": "Street food in Hanoi part 2"}])[0] is None


def test_repair_rows_caches_every_search(tmp_path):
    calls = []

    def fake_search(query, n):
        calls.append(query)
        return {"Paris walk": [{"id": "w7BMd70vfoI", "title": "Paris walk"}],
                "Hanoi food": [{"id": "-abcdefghij", "title": "Hanoi food"}]}.get(query, [])
    rows = [_row("7BMd70vfoI", "Paris walk", 1), _row("7BMd70vfoI", "Paris walk", 2), _row("#NAME?", "Hanoi food", 3),
            _row("nZIULGD0", "Nothing", 4), _row(VID, "fine", 5)]
    cache = tmp_path / "repairs.jsonl"
    out = repair_rows(rows, cache, search=fake_search)
    assert calls == ["Paris walk", "Hanoi food", "Nothing"]
    assert [(r.parsed.video_id, r.repaired_from) for r in out] == [
        ("w7BMd70vfoI", "7BMd70vfoI"), ("w7BMd70vfoI", "7BMd70vfoI"), ("-abcdefghij", "#NAME?"), ("nZIULGD0", None),
        (VID, None)]
    listing = classify_listing(out)
    assert listing.totals()["repaired"] == 3 and listing.totals()["duplicate"] == 1
    out_again = repair_rows(rows, cache, search=lambda q, n: pytest.fail(f"searched {q!r} twice"))
    assert [r.parsed.video_id for r in out_again] == [r.parsed.video_id for r in out]
    assert len(cache.read_text().splitlines()) == 3


def test_normalize_title():
    assert normalize_title("  Café — DU  Monde!! ") == "cafe du monde"


# ---------------------------------------------------------------- the shared Kaggle CSV

KAGGLE_CSV = SHARED / "data" / "youtube-videos-dataset" / "youtube.csv"


@pytest.mark.skipif(not KAGGLE_CSV.exists(), reason="../shared is not present in this checkout")
def test_shared_kaggle_csv_exact_counts(tmp_path):
    # From the README: 3,599 rows = 2,102 well-formed + 1,434 cut short + 63 #NAME?. 2,040 distinct well-formed ids.
    # 8 link strings under two categories; 5 of them are well-formed ids (4 food+travel, 1 food+art_music), each
    # listed once per category -> 10 conflicting rows, 2,040 - 5 = 2,035 usable, 2,102 - 10 - 2,035 = 57 duplicates.
    listing = classify_listing(read_listing(KAGGLE_CSV))
    assert listing.totals() == {"rows": 3599, "usable": 2035, "duplicate": 57, "conflicting": 10, "damaged": 1434,
                                "name_error": 63, "empty": 0, "unparseable": 0, "repaired": 0}
    counts = listing.counts()
    assert {c: e["damaged"] for c, e in counts.items()} == {"art_music": 371, "food": 361, "history": 240, "travel": 462}
    assert {c: e["name_error"] for c, e in counts.items()} == {"art_music": 24, "food": 16, "history": 5, "travel": 18}
    assert {c: e["rows"] for c, e in counts.items()} == {"art_music": 947, "food": 903, "history": 593, "travel": 1156}
    assert {c: e["conflicting"] for c, e in counts.items()} == {"art_music": 1, "food": 5, "history": 0, "travel": 4}
    # history has no conflicts: 593 = 240 damaged + 5 #NAME? + usable + duplicates, and it has 5 duplicates.
    assert (counts["history"]["usable"], counts["history"]["duplicate"]) == (343, 5)
    assert len(listing.conflicts) == 5 and len(listing.report()["damaged_conflicting_links"]) == 3


@pytest.mark.skipif(not KAGGLE_CSV.exists(), reason="../shared is not present in this checkout")
def test_dry_run_cli_writes_the_listing_report(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "download", "--listing", str(KAGGLE_CSV), "--out", str(tmp_path),
                           "--dry-run"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "listing_report.json").read_text())
    assert report["totals"]["usable"] == 2035 and report["sha256"].startswith("97ae8e26")
    assert "TOTAL" in proc.stdout and "2035" in proc.stdout
    assert not (tmp_path / "manifest.jsonl").exists()
