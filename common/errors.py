"""The one family of expected errors: bad input or an environment the user can fix, never a bug.

Every entry point runs under ``common.cli.run_cli``, which turns an ``ExpectedError`` (and ``OSError``/``ValueError``:
missing files, bad values) into one line ``PROG: error: <message>`` and exit status 2. Other libraries' errors that
mean bad input (soundfile's ``LibsndfileError`` on undecodable audio) are re-raised as one of these where they
happen, with the file or row named, so that no entry point has to list them.

Example::

    from common.errors import ExpectedError
    class ListingError(ExpectedError, ValueError): ...
"""

from __future__ import annotations


class ExpectedError(Exception):
    """Bad input or an environment problem with a message that says what to do: exit status 2, no traceback."""
