"""Small file helpers: atomic writes, checksums, hashing, and exact, line-numbered text reading; the table
reader that data loading and the output formats share is :mod:`hardneg.io.tables`."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hardneg.errors import DataError

logger = logging.getLogger(__name__)
BOM = "\ufeff"
DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
"""Write errors that mean the disk (or a quota, or a file size limit) is full."""
SHORT_WRITE = re.compile(r"(\d+) requested and (\d+) written")
"""numpy's ``tofile`` (and so ``np.save``) on a full disk: a short write, reported without an errno."""


def disk_full(exc: BaseException) -> OSError | None:
    """``exc`` as an ``OSError`` with a disk-full errno, or ``None`` when it is not a full disk.

    numpy reports a short write as ``OSError("115200 requested and 34784 written")`` with no errno;
    that is read as ``ENOSPC``, its bytes kept in the message.
    """
    if not isinstance(exc, OSError):
        return None
    if exc.errno in DISK_FULL:
        return exc
    short = SHORT_WRITE.fullmatch(str(exc)) if exc.errno is None else None
    if short:
        requested, written = short.groups()
        return OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)}: {written} of {requested} bytes written")
    return None


def _umask() -> int:
    """The process's umask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _tree_as_if_created(folder: Path) -> None:
    """Every file and folder under ``folder`` gets the mode ``open``/``mkdir`` would have given it
    (safetensors, for one, writes its weights 0600 whatever the umask); execute bits are kept."""
    mask = _umask()
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o777 & ~mask)
        for name in files:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                os.chmod(path, (0o666 | (os.stat(path).st_mode & 0o111)) & ~mask)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, *, directory: bool = False, checksum: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success move it over ``target`` in one step.

    A crash leaves the previous ``target`` (or nothing) in place, never a half-written file. The
    temporary name is unique (``.NAME.tmp-XXXX``), so two writers never share one. With
    ``checksum`` (files only) the SHA-256 of the new file is written to ``target.sha256`` before
    the file is moved into place; :func:`verify_checksum` checks it on reading. A full disk is an
    ``OSError`` naming ``target`` (not the temporary name) and saying the partial file was removed.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{target.name}.tmp-"
    if directory:
        tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
    else:
        fd, name = tempfile.mkstemp(prefix=prefix, dir=target.parent)
        os.close(fd)
        tmp = Path(name)
    # the mode a plain open/mkdir would have given it: mkstemp and mkdtemp create 0600 files and 0700 folders whatever
    # the umask, and an output must keep the user's umask like any file they write themselves
    os.chmod(tmp, (0o777 if directory else 0o666) & ~_umask())
    try:
        yield tmp
        if checksum and not directory:
            digest = sha256_file(tmp)
            sidecar = checksum_path(target)
            with atomic_path(sidecar) as side_tmp:
                side_tmp.write_text(digest + "\n", encoding="ascii")
        if directory:
            _tree_as_if_created(tmp)
            if target.exists():
                old = target.with_name(f".{target.name}.old-{os.getpid()}")
                os.replace(target, old)
                os.replace(tmp, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, target)
        else:
            os.replace(tmp, target)
    except BaseException as exc:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        full = disk_full(exc)
        if full is not None:
            message = f"{full.strerror} while writing it; the partial {'folder' if directory else 'file'} was removed"
            raise OSError(full.errno, message, str(target)) from exc
        raise


def read_json_object(path: str | os.PathLike) -> dict[str, Any]:
    """The JSON object in the file ``path``. A file that is there but not a JSON object (truncated, not
    UTF-8, a list) is a one-line DataError calling it corrupted; a missing file is the ``OSError`` of opening it."""
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise DataError(f"corrupted: invalid UTF-8 at byte {exc.start}", path=str(path)) from None
    except json.JSONDecodeError as exc:
        raise DataError(
            f"corrupted: malformed JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); is it truncated?", path=str(path)
        ) from None
    if not isinstance(value, dict):
        raise DataError(f"corrupted: expected a JSON object, got {type(value).__name__}", path=str(path))
    return value


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def checksum_path(path: str | os.PathLike) -> Path:
    """Where the SHA-256 of ``path`` is kept: ``path.sha256`` beside it."""
    path = Path(path)
    return path.with_name(path.name + ".sha256")


def verify_checksum(path: str | os.PathLike) -> bool:
    """Whether ``path`` still has the SHA-256 recorded when it was written (a missing record fails).

    A mismatch is logged; the caller recomputes the file and writes it again atomically (with its
    record). Nothing is deleted here: another process sharing a cache may be replacing the file at
    this very moment, and its work must not be undone.
    """
    path = Path(path)
    sidecar = checksum_path(path)
    try:
        expected = sidecar.read_text(encoding="ascii").strip()
        ok = sha256_file(path) == expected
    except (OSError, UnicodeDecodeError):
        ok = False
    if not ok:
        logger.warning("%s is damaged or has no checksum; it is recomputed", path)
    return ok


def iter_text_lines(path: str | os.PathLike) -> Iterator[str]:
    """The lines of a UTF-8 text file, newline characters kept, a leading byte order mark dropped.

    Invalid UTF-8 is a :class:`DataError` naming the file, the line and the byte offset in the file,
    never a bare ``UnicodeDecodeError``. Lines are decoded one at a time, so a large file is streamed.
    """
    offset = 0
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"invalid UTF-8 (byte {offset + exc.start} of the file); save it as UTF-8", path=str(path), line=number
                ) from None
            if number == 1 and line.startswith(BOM):
                line = line[1:]
            offset += len(raw)
            yield line


MEMORY_PREFIX = "memory:"
"""Inputs that are not files (a ``datasets.Dataset``, a list of texts) are named ``memory:<sha256 of their content>``."""


def memory_input(*parts: object) -> str:
    """The ``memory:<sha256>`` name of in-memory content: texts, lists and dicts of them are fed to the hash with
    their type and length (no JSON text is built: a warm drop-in call hashes its corpus in a tenth of the time);
    anything else as its JSON."""
    h = hashlib.sha256()
    _feed(h, parts)
    return MEMORY_PREFIX + h.hexdigest()


def _feed(h: Any, value: object) -> None:
    if isinstance(value, str):
        data = value.encode("utf-8", "surrogatepass")
        h.update(b"s%d:" % len(data))
        h.update(data)
    elif isinstance(value, list | tuple):
        h.update(b"l%d:" % len(value))
        for item in value:
            _feed(h, item)
    elif isinstance(value, dict):
        h.update(b"d%d:" % len(value))
        for key, item in value.items():
            _feed(h, key)
            _feed(h, item)
    else:
        data = json.dumps(value, ensure_ascii=False, default=str).encode("utf-8", "surrogatepass")
        h.update(b"j%d:" % len(data))
        h.update(data)


def input_sha256(source: str) -> str:
    """SHA-256 of an input: of the file's bytes, or the digest an in-memory input's name carries."""
    return source[len(MEMORY_PREFIX) :] if source.startswith(MEMORY_PREFIX) else sha256_file(source)


class NotJSON(ValueError):
    """A literal Python's json module accepts but JSON does not have: ``NaN``, ``Infinity``, ``-Infinity``."""


def _refuse_constant(name: str) -> None:
    raise NotJSON(f"{name} is not JSON (JSON numbers are finite; write a number, or null)")


def iter_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, dict | None, str | None]]:
    """Yield ``(line_number, record, error)`` for each non-blank line; exactly one of record/error is set.

    Lines are strict JSON: ``NaN`` and ``Infinity``, which ``json.loads`` reads by default, are errors.
    """
    for number, line in enumerate(iter_text_lines(path), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line, parse_constant=_refuse_constant)
        except json.JSONDecodeError as exc:
            yield number, None, f"malformed JSON ({exc.msg} at column {exc.colno})"
            continue
        except NotJSON as exc:
            yield number, None, f"malformed JSON ({exc})"
            continue
        if not isinstance(record, dict):
            yield number, None, f"expected a JSON object, got {type(record).__name__}"
            continue
        yield number, record, None


def require_file(path: str | os.PathLike, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{what} not found", path=str(path))
    return path
