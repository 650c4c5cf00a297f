"""Writing a file so that readers see the old content or the new, never a half-written file.

The one way the server replaces a file (settings, userdata, the queue's pause file, uploads): the bytes go
to a temporary file with a unique name in the target's own folder (so the rename never crosses a file
system), are flushed and fsynced, and the temporary file is then renamed over the target (`os.replace`) or,
where an existing file must not be overwritten, hard-linked to the target name (`os.link`, which fails with
FileExistsError instead of replacing). The folder is fsynced afterwards where the platform allows it, so
the rename itself survives a power loss. On any failure, KeyboardInterrupt included, the temporary file is
removed and the old file is left as it was.

The temporary file is created with mode 0o666 less the umask, the permissions a plain `open(path, "w")`
would give a new file (`tempfile.mkstemp` would give 0o600).

- `write_atomically(path, data)`: the whole content at once.
- `atomic_file(path)`: a context manager giving a binary file to write in pieces (a streamed body); the
  file is put in place only when the block ends without an exception.
- `StagedFile(folder)`: the written bytes kept in a temporary file and published under a name chosen
  afterwards, trying several (`publish(target, overwrite=False)` raises FileExistsError for a taken name).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

_TEMP_SUFFIX = ".tmp"
_NAME_BYTES_IN_TEMP = 64  # of the target's name kept in the temporary name: it stays under any NAME_MAX
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
_CREATE_TRIES = 16


def write_atomically(path: str | os.PathLike, data: bytes, *, overwrite: bool = True, mode: int = 0o666) -> None:
    """Replace `path` with `data` atomically and durably.

    With overwrite=False an existing file is never replaced: FileExistsError is raised and nothing changes.
    A missing folder raises FileNotFoundError naming it (the caller decides whether to create folders).
    """
    with atomic_file(path, overwrite=overwrite, mode=mode) as handle:
        handle.write(data)


@contextmanager
def atomic_file(path: str | os.PathLike, *, overwrite: bool = True, mode: int = 0o666) -> Iterator[BinaryIO]:
    """A binary file to write; on a clean exit it becomes `path` atomically, on an exception it vanishes."""
    target = Path(path)
    with StagedFile(target.parent, label=target.name, mode=mode) as staged:
        yield staged.file
        staged.publish(target, overwrite=overwrite)


class StagedFile:
    """A temporary file in `folder` that is written first and then published under a name in that folder.

    Use it as a context manager: leaving the block always removes the temporary file, so nothing is left
    behind whether or not `publish` was reached. `publish` may be retried under other names after a
    FileExistsError (overwrite=False), and succeeds at most once.
    """

    def __init__(self, folder: str | os.PathLike, *, label: str = "file", mode: int = 0o666) -> None:
        self.folder = Path(folder)
        self._label = _short(label)
        self._mode = mode
        self._temp: Path | None = None
        self._file: BinaryIO | None = None
        self._synced = False
        self._published = False

    def __enter__(self) -> StagedFile:
        self._temp, fd = self._create()
        self._file = os.fdopen(fd, "wb")
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            if self._file is not None and not self._file.closed:
                with contextlib.suppress(OSError):  # a failed flush must not hide the original exception
                    self._file.close()
        finally:
            if self._temp is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._temp)
                self._temp = None

    @property
    def file(self) -> BinaryIO:
        """The binary file to write; usable only before `publish`."""
        if self._file is None or self._synced:
            raise RuntimeError("the staged file is not open for writing (outside its `with` block, or published)")
        return self._file

    def write(self, data: bytes) -> int:
        return self.file.write(data)

    def publish(self, target: str | os.PathLike, *, overwrite: bool = True) -> None:
        """Put the written bytes at `target` (a name in this folder) atomically; then fsync the folder.

        overwrite=True replaces whatever file is there; overwrite=False raises FileExistsError when the
        name is taken, leaving the staged bytes ready for another name.
        """
        if self._published:
            raise RuntimeError("the staged file was already published")
        if self._temp is None:
            raise RuntimeError("publish() must be called inside the staged file's `with` block")
        target = Path(target)
        if os.path.abspath(target.parent) != os.path.abspath(self.folder):
            raise ValueError(f"{target} is not in {self.folder}: an atomic rename needs the same folder")
        self._sync_file()
        if overwrite:
            os.replace(self._temp, target)
            self._temp = None
        else:
            os.link(self._temp, target)  # FileExistsError when taken: never replaces another file
        self._published = True
        sync_folder(self.folder)

    def _sync_file(self) -> None:
        if not self._synced:
            assert self._file is not None
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._synced = True

    def _create(self) -> tuple[Path, int]:
        for _ in range(_CREATE_TRIES):
            temp = self.folder / f".{self._label}.{secrets.token_hex(8)}{_TEMP_SUFFIX}"
            try:
                return temp, os.open(temp, _CREATE_FLAGS, self._mode)
            except FileExistsError:
                continue
            except FileNotFoundError as exc:
                if not self.folder.is_dir():
                    raise FileNotFoundError(errno.ENOENT, f"The folder {self.folder} does not exist, so no file "
                                            "can be written there", str(self.folder)) from exc
                raise
        raise FileExistsError(errno.EEXIST, "No free temporary file name was found", str(self.folder))


def sync_folder(folder: str | os.PathLike) -> None:
    """Make a rename in `folder` durable where the platform can open a folder (POSIX); a no-op elsewhere."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _short(name: str) -> str:
    """The first bytes of `name` (at most _NAME_BYTES_IN_TEMP), so the temporary name stays short enough."""
    return os.fsdecode(os.fsencode(name)[:_NAME_BYTES_IN_TEMP]) or "file"
