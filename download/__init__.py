"""download: the first stage. Read a video listing (Kaggle CSV, any CSV/URL list), classify and repair its rows,
and fetch the audio of each video with yt-dlp as 16 kHz mono FLAC, with a resumable manifest.

Example::

    from download import DownloadConfig, download_videos
    summary = download_videos("listing.csv", "data/raw", DownloadConfig(max_seconds=600, workers=2))
"""

from download.ids import check_safe_id, generic_id, parse_link
from download.listing import ClassifiedListing, ListingError, ListingRow, Video, classify_listing, read_listing
from download.downloader import DownloadConfig, DownloadSummary, audio_is_intact, download_videos, latest_records
from download.errors import BotCheckError, FatalError
from download.policy import classify, classify_error
