"""The manifest written next to every output: enough to know exactly how it was made."""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from hardneg.io import input_sha256, read_json_object, sha256_file

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
