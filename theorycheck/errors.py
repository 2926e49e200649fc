"""Error types shared by every stage of theorycheck.

Every user-facing failure is a :class:`TheorycheckError` carrying one precise
message; the CLI prints that message and exits with status 2, never a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["ECHO_CONTEXT", "ArchitectureError", "InputShapeError", "TheorycheckError", "suggest"]

#: characters of the input echoed on each side of an error position
ECHO_CONTEXT = 40


class TheorycheckError(Exception):
    """Base class of every error theorycheck raises on purpose."""


def suggest(word: str, choices: Iterable[str]) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest match, or ``""``."""
    matches = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=0.6)
    return f"; did you mean '{matches[0]}'?" if matches else ""


class ArchitectureError(TheorycheckError):
    """An invalid architecture, pointing at the offending token.

    ``text`` and ``position`` are set when the architecture came from text; the
    message then ends with the text and a caret under the token.
    """

    def __init__(
        self,
        message: str,
        *,
        text: str | None = None,
        position: int | None = None,
        length: int = 1,
    ) -> None:
        self.message = message
        self.text = text
        self.position = position
        self.length = max(1, length)
        super().__init__(self._render())

    def _render(self) -> str:
        if self.text is None or self.position is None:
            return self.message
        start = max(0, self.position - ECHO_CONTEXT)
        end = min(len(self.text), self.position + min(self.length, ECHO_CONTEXT) + ECHO_CONTEXT)
        shown = "".join(c if c.isprintable() else " " for c in self.text[start:end])
        prefix = "…" if start > 0 else ""
        suffix = "…" if end < len(self.text) else ""
        length = min(self.length, end - self.position) if end > self.position else 1
        caret = " " * (len(prefix) + self.position - start) + "^" * max(1, length)
        return f"{self.message} (at position {self.position})\n  {prefix}{shown}{suffix}\n  {caret}"


class InputShapeError(TheorycheckError):
    """An input shape that is not ``D`` or ``CxHxW`` with positive sizes."""
