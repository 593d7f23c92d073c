"""Synthetic "YouTube videos" for the offline demo and tests: four classes of sound, encoded by ffmpeg the way
YouTube serves audio (webm/opus at 48 kHz, m4a/aac at 44.1 kHz, stereo), plus a Kaggle-format listing of their URLs.

The classes are told apart by their sound, not by a single tone, and they overlap on purpose:

- ``art_music``: harmonic chord progressions (random key, tempo, voicing) with plucked envelopes and soft drums;
- ``history``: narration: speech-like formant sequences (glottal pulses through vowel resonators, fricative noise)
  over room noise, with pauses between phrases;
- ``travel``: ambient outdoor textures (wind/traffic noise with slow swells, birds-like chirps, distant voices);
- ``food``: a vlogger talking over background music plus kitchen sizzle.

Videos come from **channels**, as on YouTube: ``videos_per_channel`` consecutive videos of a class share a channel
(its name heads their listing descriptions in the scraped form ``Name\n12K subscribers\nSUBSCRIBE\n...``, see
``common.text``), and each channel has a **signature** mixed into all its videos: a room tone (a mains-like hum and
a band of noise, at the channel's own frequencies) and an intro sting (a short three-note motif at the start). The
signature is drawn from the channel's own generator, so the class sounds are the same as without channels; a
model that learns a channel's signature scores well on a video-disjoint split and gains nothing on a
channel-disjoint one, which is what the demo's ``--group-by`` shows.

Everything is deterministic from ``seed``. Example::

    from testing.synth import synthesize_videos, write_kaggle_listing
    videos = synthesize_videos("demo_out/media", videos_per_class=10, seed=0)   # 40 videos, 30 s - 3 min
    write_kaggle_listing(videos, "http://127.0.0.1:8000", "demo_out/listing.csv")
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import lfilter

from common.audio import require_ffmpeg

logger = logging.getLogger(__name__)

CLASSES = ("art_music", "food", "history", "travel")
SYNTH_RATE = 24_000          # content stays below 12 kHz; ffmpeg resamples to 44.1/48 kHz when encoding
# (extension, ffmpeg codec arguments, sample rate): what YouTube's audio-only formats look like.
FORMATS = {
    "webm": (["-c:a", "libopus", "-b:a", "64k"], 48_000),
    "m4a": (["-c:a", "aac", "-b:a", "96k"], 44_100),
}
VOWELS = [(730, 1090, 2440), (270, 2290, 3010), (530, 1840, 2480), (570, 840, 2410), (300, 870, 2240),
          (660, 1720, 2410), (490, 1350, 1690)]
TITLE_WORDS = {
    "art_music": (["Relaxing", "Live", "Acoustic", "Piano", "Jazz", "Lofi", "Guitar"],
                  ["Session", "Cover", "Improvisation", "Concert", "Ballad", "Study Mix"]),
    "food": (["Street Food", "Easy", "Spicy", "Homemade", "Crispy", "Vegan"],
             ["Recipe", "Noodles", "Tacos", "Curry", "Breakfast", "Dumplings"]),
    "history": (["The Fall of", "The Rise of", "Secrets of", "A Brief History of", "The Forgotten"],
                ["Rome", "the Ottoman Empire", "Byzantium", "the Silk Road", "the Incas", "Carthage"]),
    "travel": (["Walking Tour:", "48 Hours in", "Hidden Gems of", "Backpacking", "Train Ride to"],
               ["Lisbon", "Kyoto", "Patagonia", "Marrakech", "Iceland", "Hanoi"]),
}
# Descriptions look like the Kaggle listing's scraped ones (channel, subscribers, SUBSCRIBE, text, SHOW MORE) and
# never name the class: one sentence leans towards it (sometimes towards another class), the rest is generic
# channel talk, and some titles are generic too, so a text model has to learn and can be wrong. Channel names do
# not name the class either.
CHANNELS = ["Wander With Me", "Daily Dose", "The Curious Channel", "Sam & Alex", "Northbound", "Weekend Stories",
            "Maya Explores", "Little Big Screen", "Open Window", "Kettle & Co", "Blue Hour", "Field Notes",
            "Tiny Atlas", "Half Past Ten", "Good Company", "The Long Table"]
# The Kaggle listing has 3,432 videos from 1,882 channels (about 1.8 per channel): two per channel here.
VIDEOS_PER_CHANNEL = 2
# Bumped whenever the synthesized audio changes, so that a media folder from an older version is re-encoded.
SYNTH_VERSION = "3"
LEANING = {
    "art_music": ["Recorded live in one take, headphones recommended.", "Chords and tabs are on my Patreon.",
                  "Thanks to everyone who came to the show last night.", "Playlist of my originals linked below."],
    "food": ["Full ingredient list and measurements below.", "Tell me in the comments what I should cook next.",
             "We tried every stall on the street, some twice.", "The market was packed this morning."],
    "history": ["Sources and further reading are listed below.", "Maps by our illustrator, archive footage courtesy "
                "of the museum.", "This episode covers three centuries in twenty minutes.",
                "Corrections from the last episode are pinned in the comments."],
    "travel": ["Hotel and flight details are below.", "We walked the old town at sunrise before the crowds.",
               "The market was packed this morning.", "Drone shots filmed with a local permit."],
}
GENERIC_SENTENCES = ["Don't forget to like and share!", "New videos every Friday.", "Thanks for watching!",
                     "Follow me on Instagram for behind the scenes.", "Business enquiries: see the about page.",
                     "This one took a long time to make.", "Let me know what you think in the comments."]
GENERIC_TITLES = ["My Weekend Vlog", "You Won't Believe This!", "A Day I'll Never Forget", "Episode", "Q&A and Updates"]


@dataclass
class SynthVideo:
    id: str
    category: str
    path: str              # relative to the media folder (what the server serves)
    title: str
    description: str       # begins with the scraped channel header (``common.text``)
    channel: str           # the channel name in that header; its videos share a signature sound
    duration_s: float
    sample_rate: int
    ext: str


# ---------------------------------------------------------------- sound makers (mono float arrays at SYNTH_RATE)

def _t(seconds: float) -> np.ndarray:
    return np.arange(int(round(seconds * SYNTH_RATE))) / SYNTH_RATE


def _resonator(x: np.ndarray, freq: float, bandwidth: float) -> np.ndarray:
    r = np.exp(-np.pi * bandwidth / SYNTH_RATE)
    theta = 2 * np.pi * freq / SYNTH_RATE
    return lfilter([1 - r], [1, -2 * r * np.cos(theta), r * r], x)


def _lowpass_noise(rng, n: int, alpha: float) -> np.ndarray:
    return lfilter([1 - alpha], [1, -alpha], rng.standard_normal(n))


def music(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Chord progression: each beat a plucked chord of harmonic tones, bass on the root, a kick every other beat."""
    out = np.zeros(len(_t(seconds)))
    beat = 60.0 / rng.uniform(70, 140)
    root = 110 * 2 ** (rng.integers(0, 12) / 12)
    progression = [[0, 4, 7], [5, 9, 12], [7, 11, 14], [-3, 0, 4]]
    rng.shuffle(progression)
    harmonics = rng.uniform(0.2, 0.7)
    n_beat = int(beat * SYNTH_RATE)
    tb = np.arange(2 * n_beat) / SYNTH_RATE
    for index, start in enumerate(range(0, len(out), n_beat)):
        chord = progression[(index // 4) % len(progression)]
        note = np.zeros_like(tb)
        for semitone in chord + [chord[0] - 12]:
            freq = 2 * root * 2 ** (semitone / 12)
            for h in (1, 2, 3):
                note += harmonics ** (h - 1) * np.sin(2 * np.pi * freq * h * tb + rng.uniform(0, 6.28))
        note *= np.exp(-tb * rng.uniform(2, 5))
        if index % 2 == 0:
            note += 0.8 * np.sin(2 * np.pi * 55 * tb * np.exp(-tb * 8)) * np.exp(-tb * 20)
        end = min(len(out), start + len(note))
        out[start:end] += note[: end - start]
    return out / (np.abs(out).max() + 1e-9)


def speech(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Formant speech: syllables of a glottal pulse train (falling intonation) through three vowel resonators,
    some with a fricative noise onset, grouped into phrases separated by pauses."""
    n = len(_t(seconds))
    out = np.zeros(n)
    f0_base = rng.uniform(95, 220)
    position = int(rng.uniform(0.1, 0.5) * SYNTH_RATE)
    while position < n:
        phrase_syllables = rng.integers(4, 14)
        for k in range(phrase_syllables):
            length = int(rng.uniform(0.12, 0.28) * SYNTH_RATE)
            if position + length >= n:
                break
            f0 = f0_base * (1.15 - 0.3 * k / phrase_syllables) * rng.uniform(0.95, 1.05)
            pulses = np.zeros(length)
            pulses[:: max(1, int(SYNTH_RATE / f0))] = 1.0
            source = lfilter([1], [1, -0.95], pulses)
            vowel = VOWELS[rng.integers(len(VOWELS))]
            syllable = sum(_resonator(source, f, 60 + 0.05 * f) * g for f, g in zip(vowel, (1.0, 0.6, 0.3)))
            if rng.random() < 0.4:
                syllable[: length // 4] += 0.3 * _resonator(rng.standard_normal(length // 4), rng.uniform(3000, 6000), 2000)
            syllable *= np.hanning(length)
            out[position:position + length] += syllable / (np.abs(syllable).max() + 1e-9)
            position += length + int(rng.uniform(0.01, 0.08) * SYNTH_RATE)
        position += int(rng.uniform(0.3, 1.2) * SYNTH_RATE)
    return out / (np.abs(out).max() + 1e-9)


def ambience(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Outdoor texture: wind/traffic (low-passed noise with slow swells), chirps, the odd distant voice."""
    t = _t(seconds)
    swell = 0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.03, 0.2) * t + rng.uniform(0, 6.28))
    out = swell * _lowpass_noise(rng, len(t), rng.uniform(0.9, 0.99))
    out /= np.abs(out).max() + 1e-9
    for _ in range(int(seconds * rng.uniform(0.2, 1.0))):
        start, length = rng.integers(0, max(1, len(t) - 4000)), int(rng.uniform(0.05, 0.2) * SYNTH_RATE)
        tc = np.arange(length) / SYNTH_RATE
        chirp = np.sin(2 * np.pi * (rng.uniform(2500, 4500) + rng.uniform(-8000, 8000) * tc) * tc) * np.hanning(length)
        end = min(len(out), start + length)
        out[start:end] += 0.3 * chirp[: end - start]
    if rng.random() < 0.7:
        out += 0.15 * speech(seconds, rng)
    return out / (np.abs(out).max() + 1e-9)


def vlog(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """A voice over quiet background music and kitchen sizzle (high-passed crackle)."""
    n = len(_t(seconds))
    sizzle = rng.standard_normal(n) * (rng.random(n) < 0.02) + 0.2 * rng.standard_normal(n)
    sizzle = sizzle - lfilter([0.1], [1, -0.9], sizzle)
    out = speech(seconds, rng) + rng.uniform(0.15, 0.4) * music(seconds, rng) + rng.uniform(0.05, 0.2) * sizzle
    return out / (np.abs(out).max() + 1e-9)


SOUNDS = {"art_music": music, "history": speech, "travel": ambience, "food": vlog}


def synthesize_clip(category: str, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Stereo (n, 2) float32 at ``SYNTH_RATE``: the class sound plus room noise, slightly different per channel."""
    mono = SOUNDS[category](seconds, rng) * rng.uniform(0.3, 0.8)
    room = 0.02 * _lowpass_noise(rng, len(mono), 0.5)
    delay = int(rng.integers(1, 24))
    right = np.concatenate([np.zeros(delay), mono[:-delay]]) * rng.uniform(0.8, 1.0)
    return np.stack([mono + room, right + room[::-1]], axis=1).astype(np.float32)


@dataclass
class ChannelSignature:
    """What a channel adds to each of its videos (drawn by ``channel_signature``)."""
    hum_hz: float              # mains-like hum with two harmonics
    band_hz: float             # centre of the channel's band of room noise
    sting_hz: tuple            # the intro sting's three notes
    sting_every_s: float       # the sting comes back this often
    level: float               # peak level of the room tone relative to the class sound's peak


def channel_signature(rng: np.random.Generator) -> ChannelSignature:
    return ChannelSignature(hum_hz=float(rng.uniform(45, 160)), band_hz=float(rng.uniform(400, 5000)),
                            sting_hz=tuple(float(f) for f in 440 * 2 ** (rng.integers(-12, 13, size=3) / 12)),
                            sting_every_s=float(rng.uniform(20, 40)), level=float(rng.uniform(0.04, 0.08)))


def add_signature(clip: np.ndarray, signature: ChannelSignature, rng: np.random.Generator) -> np.ndarray:
    """``clip`` (stereo, ``SYNTH_RATE``) with the channel's room tone throughout and its sting (see the comment)."""
    n = len(clip)
    t = _t(n / SYNTH_RATE)[:n]
    hum = sum(np.sin(2 * np.pi * signature.hum_hz * k * t) / k for k in (1, 2, 3))
    band = _resonator(rng.standard_normal(n), signature.band_hz, 0.15 * signature.band_hz)
    tone = hum / np.abs(hum).max() + band / (np.abs(band).max() + 1e-9)
    peak = np.abs(clip).max() + 1e-9
    out = clip + (signature.level * peak * tone / 2)[:, None]
    # the sting opens the video and comes back every ``sting_every_s`` (a segment bumper), so it survives the
    # download stage keeping only the middle of a long video
    note_n = int(0.25 * SYNTH_RATE)
    tn = np.arange(note_n) / SYNTH_RATE
    sting = np.concatenate([np.sin(2 * np.pi * f * tn) + 0.4 * np.sign(np.sin(2 * np.pi * 2 * f * tn))
                            for f in signature.sting_hz]) * np.tile(np.exp(-tn * 6), 3)
    every = int(signature.sting_every_s * SYNTH_RATE)
    for start in range(int(rng.uniform(0.0, 0.5) * SYNTH_RATE), n - len(sting), every):
        out[start:start + len(sting)] += (0.3 * peak * sting)[:, None]
    return (out * min(1.0, 0.99 / np.abs(out).max())).astype(np.float32)   # no clipping in the 16-bit wav


# ---------------------------------------------------------------- encoding and listings

def encode(samples: np.ndarray, dst: Path, ext: str) -> None:
    """Encode with ffmpeg (argument list) to ``dst``, YouTube-like: opus in webm at 48 kHz, aac in m4a at 44.1 kHz."""
    ffmpeg, _ = require_ffmpeg()
    codec_args, rate = FORMATS[ext]
    dst.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "clip.wav"
        sf.write(str(wav), samples, SYNTH_RATE, subtype="PCM_16")
        partial = dst.with_name(dst.stem + ".part" + dst.suffix)
        cmd = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(wav), "-ac", "2",
               "-ar", str(rate), *codec_args, "-map_metadata", "-1", str(partial)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{dst}: ffmpeg failed to encode: {proc.stderr.strip()[-300:]}")
        os.replace(partial, dst)


def _title(category: str, rng: np.random.Generator) -> str:
    first, second = TITLE_WORDS[category]
    return f"{first[rng.integers(len(first))]} {second[rng.integers(len(second))]} #{rng.integers(1, 99)}"


def _text(category: str, classes, title: str, channel: str, subscribers: str,
          rng: np.random.Generator) -> tuple[str, str]:
    """A (title, description) pair in the listing's scraped form; see the comment on ``LEANING``."""
    if rng.random() < 0.2:
        title = f"{GENERIC_TITLES[rng.integers(len(GENERIC_TITLES))]} #{rng.integers(1, 99)}"
    leaning = category if rng.random() < 0.75 or len(classes) < 2 else classes[rng.integers(len(classes))]
    pool = LEANING.get(leaning, GENERIC_SENTENCES)
    sentences = [pool[rng.integers(len(pool))]]
    sentences += [GENERIC_SENTENCES[i] for i in rng.choice(len(GENERIC_SENTENCES), size=2, replace=False)]
    rng.shuffle(sentences)
    return title, f"{channel}\n{subscribers} subscribers\nSUBSCRIBE\n{' '.join(sentences)}\nSHOW MORE"


def _channel(class_index: int, channel_index: int, seed: int) -> tuple[str, str, ChannelSignature]:
    """(name, subscriber count, signature) of a class's ``channel_index``-th channel, from the channel's own
    generator. Names are unique across classes (a numbered suffix once ``CHANNELS`` runs out)."""
    rng = np.random.default_rng([seed, class_index, channel_index, 2])
    number = class_index + len(CLASSES) * channel_index
    name = CHANNELS[number % len(CHANNELS)] + (f" {number // len(CHANNELS) + 1}" if number >= len(CHANNELS) else "")
    subscribers = (f"{rng.integers(1, 999)}K" if rng.random() < 0.7 else f"{rng.integers(1, 9)}.{rng.integers(0, 9)}M")
    return name, subscribers, channel_signature(rng)


def _media_is_current(out_dir: Path) -> bool:
    """Whether files already in ``out_dir`` were made by this version of the synthesis (else they are re-encoded)."""
    marker = out_dir / "SYNTH_VERSION"
    current = marker.is_file() and marker.read_text(encoding="utf-8").strip() == SYNTH_VERSION
    out_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text(SYNTH_VERSION + "\n", encoding="utf-8")
    return current


def synthesize_videos(out_dir, videos_per_class: int = 10, min_seconds: float = 30, max_seconds: float = 180,
                      seed: int = 0, classes=CLASSES, formats=("webm", "m4a"),
                      videos_per_channel: int = VIDEOS_PER_CHANNEL) -> list[SynthVideo]:
    """Write ``videos_per_class`` videos per class under ``out_dir/<class>/`` and return their descriptions.

    Each video has its own generator seeded from (seed, class, index), so a subset is identical to the same
    videos of a larger set; formats alternate between ``formats``. Videos ``videos_per_channel`` at a time share a
    channel (name, subscriber count and signature sound; see the module doc). Existing files are kept (re-runs are
    cheap) unless an older version of this module made them.
    """
    out_dir = Path(out_dir)
    reuse = _media_is_current(out_dir)
    videos = []
    for class_index, category in enumerate(classes):
        for index in range(videos_per_class):
            channel, subscribers, signature = _channel(class_index, index // videos_per_channel, seed)
            rng = np.random.default_rng([seed, class_index, index])
            seconds = float(np.round(rng.uniform(min_seconds, max_seconds), 2))
            ext = formats[(index + class_index) % len(formats)]
            relative = f"{category}/{category}_{index:02d}.{ext}"
            title = _title(category, rng)
            video_id = hashlib.sha256(f"{seed}/{relative}".encode()).hexdigest()[:11]
            target = out_dir / relative
            if not (reuse and target.exists()):
                clip = synthesize_clip(category, seconds, rng)
                # the signature's generator is the video's own too, but separate: the class sound stays as it was
                encode(add_signature(clip, signature, np.random.default_rng([seed, class_index, index, 3])),
                       target, ext)
            # a generator of its own, so the text never changes the audio drawn from ``rng``
            title, description = _text(category, classes, title, channel, subscribers,
                                       np.random.default_rng([seed, class_index, index, 1]))
            videos.append(SynthVideo(id=video_id, category=category, path=relative, title=title,
                                     description=description, channel=channel,
                                     duration_s=seconds, sample_rate=FORMATS[ext][1], ext=ext))
    logger.info("%d synthetic videos in %s", len(videos), out_dir)
    return videos


def synthesize_small(out_dir, videos_per_class: int = 1, seconds: float = 4.0, seed: int = 0, classes=CLASSES
                     ) -> list[SynthVideo]:
    """A fast subset for tests: a few seconds per video."""
    return synthesize_videos(out_dir, videos_per_class, seconds, seconds, seed, classes)


def write_kaggle_listing(videos: list[SynthVideo], base_url: str, path) -> Path:
    """A listing in the Kaggle dataset's format (``link,title,description,category``) whose links are the videos'
    loopback URLs."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["link", "title", "description", "category"])
        for video in videos:
            writer.writerow([f"{base_url.rstrip('/')}/{video.path}", video.title, video.description, video.category])
    return path


def tone_source(dst, seconds: float, rate: int = 48_000, ext: str = "webm", streamed: bool = False) -> Path:
    """A cheap long source (a sine, low bitrate) for section tests and benchmarks: ffmpeg encodes a piece of at
    most 30 s once and repeats it by stream copy, so a 60-minute source takes about a second.

    ``streamed``: the webm is written to a pipe, as a live or streamed source is, so its container states no
    duration (ffprobe reports none, yt-dlp's generic extractor gives ``duration`` None)."""
    ffmpeg, _ = require_ffmpeg()
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    pieces = max(1, int(np.ceil(seconds / 30.0)))
    codec = ["-c:a", "libopus", "-b:a", "32k"] if ext == "webm" else ["-c:a", "aac", "-b:a", "48k"]
    with tempfile.TemporaryDirectory() as tmp:
        piece = Path(tmp) / f"piece.{ext}"
        steps = [[ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
                  "-i", f"sine=frequency=440:sample_rate={rate}:duration={seconds / pieces:.6f}", "-ac", "2",
                  *codec, str(piece)],
                 [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-stream_loop", str(pieces - 1),
                  "-i", str(piece), "-c", "copy", *(["-f", ext, "-live", "1", "pipe:1"] if streamed else [str(dst)])]]
        for cmd in steps:
            if streamed and cmd is steps[-1]:
                with open(dst, "wb") as out:
                    proc = subprocess.run(cmd, stdout=out, stderr=subprocess.PIPE, text=True)
            else:
                proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError(f"{dst}: ffmpeg failed: {proc.stderr.strip()[-300:]}")
    return dst
