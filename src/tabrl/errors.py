"""Errors that carry a message a person can act on.

Every error raised across TabRL's public surface derives from `TabRLError`. Its
`str()` is a single line that says what failed and how to fix it; the CLI prints
exactly that line and the server returns it as a 4xx JSON body.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class TabRLError(Exception):
    """Base class for errors a user can act on."""

    #: HTTP status the server maps this error to.
    status_code: int = 400


class NotFoundError(TabRLError):
    """Something named by the user does not exist."""

    status_code = 404


class UnavailableError(TabRLError):
    """Something exists but cannot be used on this machine (e.g. assets offline)."""

    status_code = 409


def closest(name: str, candidates: Iterable[str], n: int = 5) -> list[str]:
    """The `n` candidates closest to `name` (case-insensitive), best first."""
    pool = list(candidates)
    lowered = {c.lower(): c for c in pool}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.6)
    # Substring matches are what people expect ("go1" -> all Go1 tasks).
    subs = [c for c in pool if name.lower() in c.lower() and c.lower() not in hits]
    out = [lowered[h] for h in hits] + subs
    seen: set[str] = set()
    return [c for c in out if not (c in seen or seen.add(c))][:n]


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """' Did you mean: a, b?' or '' when nothing is close."""
    best = closest(name, candidates)
    return f" Did you mean: {', '.join(best)}?" if best else ""
