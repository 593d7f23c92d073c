"""The one check for a numeric option: within the range its code can use, finite, of the right kind; the error names
the flag, the value and what was expected (``ValueError``: one line and exit status 2 under ``common.cli.run_cli``).

Every stage's config dataclass calls it from ``__post_init__`` for each numeric field, so a library call gets the
same message as the command line.

Example::

    from common.values import check_number
    check_number("--clip-seconds", 1e-9, minimum=0.025)   # ValueError: --clip-seconds 1e-09: expected a number >= 0.025
"""

from __future__ import annotations

import math


def check_number(flag: str, value, *, minimum: float | None = None, maximum: float | None = None,
                 integer: bool = False, allow_none: bool = True, allow_inf: str | None = None,
                 above: bool = False, why: str = ""):
    """Raise ``ValueError`` unless ``value`` is a number in ``[minimum, maximum]`` (``above``: strictly above
    ``minimum``), an integer when ``integer``, finite unless ``allow_inf`` names the infinity it may be
    (``"-inf"``/``"inf"``), or None when ``allow_none``. ``why`` is added to the message (what the value means)."""
    if value is None and allow_none:
        return
    kind = "an integer" if integer else "a number"
    bounds = []
    if minimum is not None:
        bounds.append(f"{'>' if above else '>='} {minimum:g}")
    if maximum is not None:
        bounds.append(f"<= {maximum:g}")
    expected = f"{kind}{' ' + ' and '.join(bounds) if bounds else ''}" + (f" (or {allow_inf})" if allow_inf else "")
    shown = f"{flag} {value!r}: expected {expected}" + (f"; {why}" if why else "")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(shown)
    if integer and not isinstance(value, int):
        raise ValueError(shown)
    if math.isnan(value):
        raise ValueError(shown)
    if math.isinf(value):
        if allow_inf == ("-inf" if value < 0 else "inf"):
            return
        raise ValueError(shown)
    if minimum is not None and (value <= minimum if above else value < minimum):
        raise ValueError(shown)
    if maximum is not None and value > maximum:
        raise ValueError(shown)
