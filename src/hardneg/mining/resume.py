"""Resuming a killed mining run: each query batch's result is kept as a part file until the output is done.

A batch's part (``<cache>/runs/<key>/part-<i>.npz``: indices and scores, never texts, no pickle) is written
to a temporary name and renamed before it becomes rows; the key hashes everything that changes the rows.
Rows are always built from the batches in order, from a part or freshly mined alike, so a resumed run
writes a file byte-identical to an uninterrupted one. Each part's SHA-256 is kept beside it: a bad part is
dropped with a warning and mined again, never stopping a rerun. Encoding resumes on its own (the
:class:`~hardneg.encoding.encode.Encoder` cache). This is the checkpointing Tevatron gets from files between
stages, applied within the search stage. What survives a kill: ``docs/scale.md`` (Resume a killed run).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from hardneg.io import atomic_path, input_sha256, verify_checksum

logger = logging.getLogger(__name__)

# Parameters that never change the rows: where things run, what is printed, where caches live.
NOT_IN_KEY = frozenset(
    {
        "out",
        "overwrite",
        "show_progress",
        "resume",
        "engine",
        "encode_devices",
        "ray_address",
        "num_cpus",
        "cache_dir",
        "use_cache",
        "recall_sample",
    }
)
_JSON = "__json__"


def run_key(parameters: dict[str, Any], *, inputs: dict[str, str], model: dict[str, Any] | None, code: str) -> str:
    """A hash of everything a run's rows depend on.

    Args:
        inputs: role -> path of every input file; their contents are hashed.
        model: the model's description (weight fingerprint, prompts, precision) or ``None``.
        code: the package version: a new version may mine differently.
    """
    h = hashlib.blake2b(digest_size=16)
    kept = {k: v for k, v in sorted(parameters.items()) if k not in NOT_IN_KEY}
    h.update(json.dumps(kept, sort_keys=True, default=str).encode())
    for role, path in sorted(inputs.items()):
        h.update(f"{role}={input_sha256(path)}".encode())
    h.update(json.dumps(model, sort_keys=True, default=str).encode())
    h.update(code.encode())
    return h.hexdigest()


# --- packing plain objects into .npz without pickle ------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__} in a part file")


def pack(obj: Any) -> dict[str, np.ndarray]:
    """The attributes of ``obj`` as arrays for :func:`numpy.savez`.

    Arrays are stored as they are; lists of arrays (one per query) as their concatenation and
    lengths; everything else (numbers, strings, lists and dicts of them) as JSON.
    """
    arrays: dict[str, np.ndarray] = {}
    plain: dict[str, Any] = {}
    for name, value in vars(obj).items():
        if isinstance(value, np.ndarray):
            arrays[name] = value
        elif isinstance(value, list) and value and all(isinstance(v, np.ndarray) for v in value):
            arrays[f"{name}.values"] = np.concatenate(value)
            arrays[f"{name}.lengths"] = np.array([len(v) for v in value], dtype=np.int64)
        else:
            plain[name] = value
    arrays[_JSON] = np.array(json.dumps(plain, default=_json_default))
    return arrays


def unpack(cls: type, arrays: Any) -> Any:
    """The inverse of :func:`pack`: an instance of ``cls`` with the stored attributes."""
    state: dict[str, Any] = json.loads(str(arrays[_JSON]))
    for name in arrays.files:
        if name == _JSON or name.endswith(".lengths"):
            continue
        if name.endswith(".values"):
            base = name[: -len(".values")]
            ends = np.cumsum(arrays[f"{base}.lengths"])
            state[base] = np.split(arrays[name], ends[:-1]) if len(ends) else []
        else:
            state[name] = arrays[name]
    if dataclasses.is_dataclass(cls):
        return cls(**state)
    obj = cls.__new__(cls)
    obj.__dict__.update(state)
    return obj


def merge_into(total: Any, part: Any) -> None:
    """Add the counters of ``part`` to ``total``: numbers add up, lists extend, dicts merge by key."""
    for name, value in vars(part).items():
        setattr(total, name, _merged(getattr(total, name), value, name))


def _merged(a: Any, b: Any, name: str) -> Any:
    if isinstance(a, list):
        return a + list(b)
    if isinstance(a, dict):
        out = dict(a)
        for k, v in b.items():
            out[k] = _merged(out[k], v, f"{name}.{k}") if k in out else v
        return out
    if isinstance(a, int | float | np.number):
        return a + b
    raise TypeError(f"do not know how to merge {name} of type {type(a).__name__}")


# --- the parts folder --------------------------------------------------------------------------


class PartStore:
    """Numbered part files of one run.

    Args:
        root: folder holding the parts of every run (``<cache>/runs``).
        out: the run's output path; a new key for the same output discards the old parts.
        key: :func:`run_key` of the run; parts of another key, or of another output, are never reused.
    """

    def __init__(self, root: str | Path, out: str | Path, key: str):
        self.root, self.out, self.key = Path(root), Path(out).absolute(), key
        # keyed by the output too: two runs of the same parameters into two outputs each keep their own parts
        # (one finishing removes its parts, never the other's)
        where = hashlib.blake2b(str(self.out).encode(), digest_size=6).hexdigest()
        self.folder = self.root / f"{key}-{where}"

    def open(self) -> set[int]:
        """Prepare the folder and return the numbers of the parts already done."""
        self._remove_superseded()
        self._remove_temporaries()
        marker = self.folder / "run.json"
        if not marker.is_file():
            with atomic_path(marker) as tmp:
                tmp.write_text(json.dumps({"key": self.key, "output": str(self.out)}) + "\n", encoding="utf-8")
        done = {int(p.stem.split("-")[1]) for p in self.folder.glob("part-*.npz") if self._readable(p)}
        if done:
            logger.info("resuming: %d query batches already mined in %s", len(done), self.folder)
        return done

    def _remove_superseded(self) -> None:
        """Parts of earlier runs for the same output with other parameters or inputs."""
        for marker in self.root.glob("*/run.json"):
            if marker.parent == self.folder:
                continue
            try:
                output = json.loads(marker.read_text(encoding="utf-8")).get("output")
            except (OSError, ValueError):
                continue
            if output == str(self.out):
                logger.info("discarding parts of an earlier run with other parameters or inputs: %s", marker.parent)
                shutil.rmtree(marker.parent, ignore_errors=True)

    def _remove_temporaries(self) -> None:
        """Half-written files of a killed run: parts, and the output's temporary file or folder."""
        stale = list(self.folder.glob(".part-*.tmp-*")) + list(self.out.parent.glob(f".{self.out.name}.tmp-*"))
        for path in stale:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)

    @staticmethod
    def _readable(path: Path) -> bool:
        """Whether a part has its checksum and opens; a bad one is removed (with a warning) to be mined again."""
        if not verify_checksum(path):
            path.unlink(missing_ok=True)  # a run's own part: nobody else writes it
            return False
        try:
            with np.load(path, allow_pickle=False) as npz:
                _ = npz.files
        except Exception as exc:  # noqa: BLE001 - any unreadable part is recomputed, whatever numpy raises
            logger.warning("dropping unreadable resume part %s (%s); it is mined again", path, exc)
            path.unlink(missing_ok=True)
            return False
        return True

    def _path(self, i: int) -> Path:
        return self.folder / f"part-{i:07d}.npz"

    def save(self, i: int, **objects: Any) -> None:
        """Store ``objects`` (name -> object, see :func:`pack`) as part ``i``."""
        arrays = {f"{name}/{key}": value for name, obj in objects.items() for key, value in pack(obj).items()}
        with atomic_path(self._path(i), checksum=True) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, **arrays)

    def load(self, i: int, **classes: type) -> dict[str, Any]:
        """Part ``i`` as name -> object of the given class."""
        with np.load(self._path(i), allow_pickle=False) as npz:
            return {name: unpack(cls, _Prefixed(npz, f"{name}/")) for name, cls in classes.items()}

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class _Prefixed:
    """The entries of an npz file under one prefix, as a mapping with ``files``."""

    def __init__(self, npz: Any, prefix: str):
        self.npz, self.prefix = npz, prefix
        self.files = [f[len(prefix) :] for f in npz.files if f.startswith(prefix)]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.npz[self.prefix + name]
