"""yt-dlp plugin entry of the FAKE YouTube (testing/fake_youtube.py): with ``PYTHONPATH=testing/ytdlp_plugins``
yt-dlp's own plugin loader imports this file, and defining the classes there replaces ``YoutubeIE`` and ``YoutubeSearchIE``; the same route an
installed plugin (a PO-token provider such as bgutil-ytdlp-pot-provider) takes. For tests only."""

from testing.fake_youtube import FakeYoutubeIE, FakeYoutubeSearchIE  # noqa: F401 (the import is the registration)
