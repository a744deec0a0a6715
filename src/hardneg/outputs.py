"""Keeping a user's files safe: what an ``--out`` may be, one writer per output at a time, and the manifest
written next to every output (enough to know exactly how it was made).

Every command that writes an output goes through :class:`OutputGuard` before it loads a model or
encodes a text. The guard refuses an unsafe target with a one-line :class:`~hardneg.errors.ConfigError`
(a link to an input, or a folder of files hardneg did not write, even with ``overwrite``); takes a lock
(``.OUT.lock``, holding the process id and its start time, so a lock whose pid now names another process
is taken over as dead); and claims the target with a manifest stub ``{"command": ..., "state":
"incomplete"}``, so a run killed at any point leaves an output its rerun recognises as its own, and a
reader (``evolve``) can tell a finished output from one whose manifest was never written.
The rules and their reasons: ``docs/reliability.md`` (Your files; Interrupted runs).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import platform
import shutil
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from hardneg.errors import ConfigError, DataError
from hardneg.io import input_sha256, read_json_object, sha256_file, write_json_atomic

__all__ = ["OutputGuard", "build_manifest", "is_complete", "manifest_of", "manifest_path_for", "read_manifest"]

logger = logging.getLogger(__name__)

INCOMPLETE = "incomplete"
_HELD: dict[Path, int] = {}  # lock files this process holds -> depth (a command may guard a path twice)

MANIFEST_SUFFIX = ".manifest.json"


def manifest_path_for(out: str | os.PathLike) -> Path:
    """``OUT.manifest.json``: where the manifest of an output file or folder is written (the one place this rule lives)."""
    out = Path(out)
    return out.with_name(out.name + MANIFEST_SUFFIX)


def read_manifest(path: str | os.PathLike) -> dict[str, Any] | None:
    """The manifest at ``path``, ``None`` when there is none; one that is there but is not a JSON object is a
    DataError calling it corrupted (never taken for a missing one)."""
    if not Path(path).is_file():
        return None
    return read_json_object(path)


def manifest_of(out: str | os.PathLike) -> dict[str, Any] | None:
    """The manifest written beside the output ``out`` (:func:`read_manifest` of :func:`manifest_path_for`)."""
    return read_manifest(manifest_path_for(out))


PACKAGES = ("hardneg", "numpy", "torch", "sentence-transformers", "transformers", "faiss-cpu", "bm25s", "pyarrow", "datasets")


def package_versions() -> dict[str, str | None]:
    """The versions of Python, the platform and :data:`PACKAGES` (read once per process)."""
    return dict(_package_versions())


@functools.cache
def _package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def input_hashes(inputs: dict[str, str]) -> dict[str, dict[str, str]]:
    return {role: {"path": path, "sha256": input_sha256(path)} for role, path in inputs.items()}


def build_manifest(
    *,
    command: str,
    parameters: dict[str, Any],
    inputs: dict[str, str],
    model: dict[str, Any] | None,
    outputs: dict[str, str],
    summary: dict[str, Any],
) -> dict[str, Any]:
    return {
        "command": command,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "seed": parameters.get("seed"),
        "parameters": parameters,
        "inputs": input_hashes(inputs),
        "model": model,
        "outputs": {role: {"path": path, "sha256": sha256_path(path)} for role, path in outputs.items() if Path(path).exists()},
        "versions": package_versions(),
        "summary": summary,
    }


def sha256_path(path: str) -> str:
    """SHA-256 of a file, or of a folder's files (relative names and contents, in sorted order)."""
    root = Path(path)
    if root.is_file():
        return sha256_file(root)
    h = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(file.relative_to(root)).encode() + b"\0" + sha256_file(file).encode())
    return h.hexdigest()


def _readable_manifest(path: str | os.PathLike) -> dict[str, Any] | None:
    """The manifest at ``path``; a corrupted one is logged and counts as none (its output is redone, its stub rewritten)."""
    try:
        return read_manifest(path)
    except DataError as exc:
        logger.warning("%s; it is rewritten", exc)
        return None


def is_complete(out: str | os.PathLike) -> bool:
    """Whether ``out`` exists with a finished manifest beside it (not a stub of a killed run)."""
    manifest = _readable_manifest(manifest_path_for(out))
    return Path(out).exists() and manifest is not None and manifest.get("state") != INCOMPLETE


def _resolved(path: str | os.PathLike) -> Path:
    return Path(os.path.abspath(Path(path).expanduser())).resolve()


MAX_INPUT_FILES = 10_000
"""Files of input folders compared with an existing target (a model or BEIR folder holds a handful)."""


def _identity(path: Path) -> tuple[int, int] | None:
    """``(device, inode)`` of the file ``path`` (after links), the same for every name of one file."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _input_files(inputs: Iterable[str | os.PathLike]) -> Iterator[Path]:
    """Every input file, and the files inside input folders (at most :data:`MAX_INPUT_FILES` of them)."""
    seen = 0
    for source in map(Path, inputs):
        files = [source] if source.is_file() else (p for p in source.rglob("*") if p.is_file()) if source.is_dir() else []
        for file in files:
            seen += 1
            if seen > MAX_INPUT_FILES:
                return
            yield file


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _started(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, from ``/proc``), ``None`` where that cannot be read.

    A lock records it beside the pid: a pid is reused by unrelated processes, a (pid, start) pair is not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()  # the name in parentheses may hold spaces
    return fields[19] if len(fields) > 19 else None


def _lock_text() -> str:
    """What a lock holds: this process's id and start time."""
    return f"{os.getpid()} {_started(os.getpid()) or ''}".strip() + "\n"


def _holder(lock: Path) -> int | None:
    """The pid of the live run a lock file names, ``None`` when the lock is stale: unreadable, left by a dead
    process, or naming a pid that another process (started at another time) now has."""
    try:
        pid_text, _, start = lock.read_text(encoding="ascii").strip().partition(" ")
        pid = int(pid_text)
    except (OSError, ValueError):
        return None
    if pid == os.getpid() or not _pid_alive(pid):
        return None
    now = _started(pid)
    if start and now is not None and now != start:
        return None
    return pid


class OutputGuard:
    """Check, lock and claim one output target; use as a context manager around the whole run.

    Args:
        command: the command writing it (``"mine"``, ``"train"``, ...), as in its manifest.
        inputs: paths the run reads (files or folders); the target may be none of them, nor hold one.
        overwrite: allow replacing an existing *file* that is not an earlier output of ``command``;
            ``None`` (the default) for a command that has no ``--overwrite`` flag, so no refusal suggests it.
        marker: the file that marks an earlier output of ``command`` (default ``OUT.manifest.json``).
        folder: the target is a folder the command writes into (``evolve``): an existing one must
            be empty or carry ``marker``.
        claim: write the manifest stub (see the module docstring).
    """

    def __init__(
        self,
        out: str | os.PathLike,
        command: str,
        *,
        inputs: Iterable[str | os.PathLike | None] = (),
        overwrite: bool | None = None,
        marker: str | os.PathLike | None = None,
        folder: bool = False,
        claim: bool = True,
    ):
        self.shown = str(out)
        self.out = Path(os.path.abspath(Path(out).expanduser()))
        self.command = command
        self.inputs = [p for p in inputs if p not in (None, "")]
        self.overwrite = overwrite
        name = self.out.name or "root"  # "/" has no name; check() refuses it
        self.marker = Path(marker) if marker is not None else self.out.parent / (name + MANIFEST_SUFFIX)
        self.folder = folder
        self.claim = claim
        self.lock_path = self.out.parent / f".{name}.lock"
        self._claimed = False

    # --- checks -------------------------------------------------------------------------------

    def check(self) -> None:
        """Raise a ConfigError when the target may not be written; writes nothing."""
        out, shown = _resolved(self.out), self.shown
        if shown.strip() in ("", "."):
            raise ConfigError(f"--out {shown!r} is the current folder; name a new file or folder inside it")
        for name, protected in (
            ("the root folder", Path("/")),
            ("your home folder", Path.home()),
            ("the current folder", Path.cwd()),
        ):
            if out == _resolved(protected):
                raise ConfigError(f"--out {shown!r} is {name}; name a new file or folder inside it")
        for source in self.inputs:
            path = _resolved(source)
            if out == path:
                raise ConfigError(f"--out {shown!r} is an input of this run ({source}); choose another output")
            if out in path.parents:
                raise ConfigError(f"--out {shown!r} holds an input of this run ({source}); choose another output")
        self._check_writable(out, shown)
        if out.exists() or out.is_symlink():
            self._check_not_an_input(out, shown)
            self._check_existing(out, shown)

    def _check_not_an_input(self, out: Path, shown: str) -> None:
        """An existing target is never a file the run reads, whatever ``overwrite`` says: not a file inside an
        input folder (unless an earlier output of this command), nor a link (symbolic or hard) to an input file."""
        if self._not_own() is None:
            return
        never = "an input is never replaced" + (", even with --overwrite" if self.overwrite is not None else "")
        for source in self.inputs:
            if _resolved(source) in out.parents:
                raise ConfigError(
                    f"--out {shown!r} is inside the input folder {source} and hardneg did not write it; "
                    f"{never}: choose another output"
                )
        if out.is_file():
            identity = _identity(out)
            source = next((f for f in _input_files(self.inputs) if _identity(f) == identity), None)
            if source is not None:
                raise ConfigError(
                    f"--out {shown!r} is the same file as the input {source} (a link to it); {never}: choose another output"
                )

    def _check_writable(self, out: Path, shown: str) -> None:
        ancestor = out.parent
        while not ancestor.exists():
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            raise ConfigError(f"cannot write --out {shown!r}: {ancestor} is a file, not a folder")
        if not os.access(ancestor, os.W_OK | os.X_OK):
            raise ConfigError(f"cannot write --out {shown!r}: {ancestor} is not writable (permission denied)")
        if self.folder and out.is_dir() and not os.access(out, os.W_OK | os.X_OK):
            raise ConfigError(f"cannot write --out {shown!r}: the folder is not writable (permission denied)")

    def _not_own(self) -> str | None:
        """Why the target is not an earlier output of this command (``None`` when it is one)."""
        try:
            manifest = read_manifest(self.marker)
        except DataError as exc:
            return f"its manifest {exc}"
        if manifest is None:
            return f"no {self.marker.name}"
        if manifest.get("command", self.command) != self.command:
            return f"{self.marker.name} is from `hardneg {manifest['command']}`"
        return None

    def _check_existing(self, out: Path, shown: str) -> None:
        why = self._not_own()
        if why is None:
            return
        if out.is_dir() and not any(out.iterdir()):
            return
        if out.is_dir() or self.folder:
            if out.is_file():
                raise ConfigError(f"--out {shown!r} is a file; `hardneg {self.command}` writes a folder there")
            raise ConfigError(
                f"--out {shown!r} is a folder that holds files hardneg did not write ({why}); "
                "hardneg never replaces such a folder: choose a new or empty folder"
            )
        if not self.overwrite:
            hint = (
                "pass --overwrite to replace it, or choose another output"
                if self.overwrite is not None
                else "choose another output"
            )
            raise ConfigError(f"--out {shown!r} exists and is not an output of `hardneg {self.command}` ({why}); {hint}")

    # --- lock and claim -----------------------------------------------------------------------

    def _lock(self) -> None:
        key = _resolved(self.lock_path)
        if key in _HELD:
            _HELD[key] += 1
            return
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(self.lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
            except FileExistsError:
                pid = _holder(self.lock_path)
                if pid is not None:
                    raise ConfigError(
                        f"another hardneg run is writing {self.out} (pid {pid}, lock {self.lock_path}); "
                        "wait for it, or remove the lock if no such run is going"
                    ) from None
                self.lock_path.unlink(missing_ok=True)  # left by a dead run
                continue
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(_lock_text())
            _HELD[key] = 1
            self._remove_orphans()
            return
        raise ConfigError(f"another hardneg run is writing {self.out} (its lock {self.lock_path} keeps reappearing)")

    def _unlock(self) -> None:
        key = _resolved(self.lock_path)
        _HELD[key] -= 1
        if _HELD[key] == 0:
            del _HELD[key]
            self.lock_path.unlink(missing_ok=True)

    def _remove_orphans(self) -> None:
        """Temporaries a dead run left beside the target (no live run holds the lock: they are orphans)."""
        names = (self.out.name, self.marker.name)
        for name in names:
            for stale in list(self.out.parent.glob(f".{name}.tmp-*")) + list(self.out.parent.glob(f".{name}.old-*")):
                if stale.is_dir():
                    shutil.rmtree(stale, ignore_errors=True)
                else:
                    stale.unlink(missing_ok=True)

    def __enter__(self) -> OutputGuard:
        self.check()
        self._lock()
        try:
            if self.claim and _readable_manifest(self.marker) is None:
                write_json_atomic(self.marker, {"command": self.command, "state": INCOMPLETE, "output": str(self.out)})
                self._claimed = True
        except BaseException:
            self._unlock()
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            # A run that failed before writing anything leaves no stub behind it.
            if exc_type is not None and self._claimed and not self.out.exists():
                manifest = _readable_manifest(self.marker)
                if manifest is not None and manifest.get("state") == INCOMPLETE:
                    self.marker.unlink(missing_ok=True)
        finally:
            self._unlock()
