"""The queue's paused flag, kept also in a small file beside the queue database (`queue.db.pause.json`).

The database's `settings` row is the flag (store_order.py). This copy exists for the one case where the
database cannot answer: it was found damaged and rebuilt from what could be read, or found empty. A user who
paused the queue so that no work starts must not find prompts starting after a crash, so the rebuilt queue is
paused when either the salvaged row or this file says so. The file is written atomically (a temporary file,
flushed to disk, renamed over the old one), so it is whole or absent, never half-written; still, a file that
cannot be read or parsed only costs a warning: the database's value is used and the file written again.

Write order keeps the file never less paused than the database: a pause writes the file first, a resume
writes it last. A crash between the two writes therefore errs towards staying paused.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from .atomic_write import write_atomically

log = logging.getLogger("latentgraph.server.store")

KEY = "queue_paused"


class PauseFileError(Exception):
    """The pause file exists but cannot be read or does not hold `{"queue_paused": true|false}`."""


def pause_file_for(database: Path) -> Path:
    return database.with_name(database.name + ".pause.json")


def read_pause_file(path: Path) -> bool | None:
    """The flag the file holds; None when there is no file. Raises PauseFileError for any other trouble."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise PauseFileError(f"{path} could not be read: {exc}") from exc
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise PauseFileError(f"{path} is not JSON: {exc}") from exc
    if not isinstance(value, dict) or not isinstance(value.get(KEY), bool):
        raise PauseFileError(f'{path} does not hold {{"{KEY}": true|false}}')
    return value[KEY]


def write_pause_file(path: Path, paused: bool) -> bool:
    """Replace the file atomically with the flag; False (and a warning) when it could not be written."""
    try:
        write_atomically(path, (json.dumps({KEY: paused}) + "\n").encode("utf-8"))
        return True
    except OSError as exc:
        log.warning("could not write the queue's pause file %s (%s); the queue database still holds the flag",
                    path, exc)
        return False
