"""Leave a query's known positives out of its in-batch negatives, at the loss.

:class:`KnownPositivesMNRL` masks the in-batch entries that are a judged positive of the query out of the
softmax (their logit becomes -inf), as GISTEmbed (Solatorio 2024) masks the in-batch negatives a guide
model finds too close; here the guide is the labels. Unlike keeping such rows out of each other's batches
(:mod:`hardneg.training.batch_hygiene`), it changes neither which rows are trained nor the batch size.
Why in-batch false negatives matter, and how often they occur: ``docs/evolve.md`` (In-batch false negatives).

Texts are recognised by their token ids as the model's tokenizer cuts them, so the loss needs no
extra column: :func:`known_positive_keys` tokenizes every (anchor, positive) pair of the training
rows once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import torch
from sentence_transformers.base.losses.merged_forward import embed_columns
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss


def _keys(features: dict[str, torch.Tensor]) -> list[int]:
    """One key per text of a tokenized column: the hash of its token ids without padding."""
    ids = features["input_ids"].tolist()
    lengths = features["attention_mask"].sum(dim=1).tolist() if "attention_mask" in features else [len(i) for i in ids]
    return [hash(tuple(row[: int(n)])) for row, n in zip(ids, lengths)]


def text_keys(model: Any, texts: Sequence[str], *, chunk: int = 1024) -> list[int]:
    """The key :class:`KnownPositivesMNRL` gives each text (token ids as ``model`` cuts them)."""
    tokenize = getattr(model, "preprocess", None) or model.tokenize  # preprocess: sentence-transformers >= 6
    keys: list[int] = []
    for start in range(0, len(texts), chunk):
        keys += _keys(tokenize(list(texts[start : start + chunk])))
    return keys


def known_positive_keys(model: Any, anchors: Sequence[str], positives: Sequence[str]) -> dict[int, frozenset[int]]:
    """Anchor key -> keys of every positive it has in ``(anchors[i], positives[i])``."""
    unique_anchors = list(dict.fromkeys(anchors))
    unique_positives = list(dict.fromkeys(positives))
    anchor_key = dict(zip(unique_anchors, text_keys(model, unique_anchors)))
    positive_key = dict(zip(unique_positives, text_keys(model, unique_positives)))
    known: dict[int, set[int]] = {}
    for a, p in zip(anchors, positives):
        known.setdefault(anchor_key[a], set()).add(positive_key[p])
    return {a: frozenset(ps) for a, ps in known.items()}


class MaskedSoftmax:
    """What every loss that masks known positives shares: the masked softmax over the batch's documents,
    the counts of what was masked and their summary. Mixed into a MultipleNegativesRankingLoss, whose
    ``similarity_fct`` and ``scale`` it uses; ``masking`` says whether the loss applies a mask at all.
    """

    masking = True
    masked = 0
    scored = 0

    def count(self, mask: torch.Tensor) -> torch.Tensor:
        """Add ``mask`` (anchors x documents, each anchor's own positive among the documents) to the counts."""
        self.masked += int(mask.sum())
        self.scored += mask.shape[0] * (mask.shape[1] - 1)
        return mask

    def masked_loss(self, anchors: torch.Tensor, documents: Sequence[torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of each anchor against its own positive (document ``i``), masked entries left out."""
        scores = self.similarity_fct(anchors, torch.cat(list(documents), dim=0)) * self.scale
        scores = scores.masked_fill(mask.to(scores.device), -torch.inf)
        return torch.nn.functional.cross_entropy(scores, torch.arange(len(scores), device=scores.device))

    def summary(self) -> dict[str, Any]:
        return {
            "masked_in_batch_positives": self.masked,
            "negatives_scored": self.scored,
            "masked_share": round(self.masked / self.scored, 6) if self.scored else 0.0,
        }


class KnownPositivesMNRL(MaskedSoftmax, MultipleNegativesRankingLoss):
    """MultipleNegativesRankingLoss whose softmax leaves out every other document of the batch that is a
    known positive of the query (its own positive stays the target).

    Args:
        model: the SentenceTransformer being trained.
        known: anchor key -> positive keys (:func:`known_positive_keys`).
        scale: inverse temperature, as for MultipleNegativesRankingLoss.

    ``masked`` counts the entries left out so far, ``scored`` the in-batch and hard negatives scored.
    """

    def __init__(self, model: Any, known: dict[int, frozenset[int]], scale: float = 20.0):
        super().__init__(model, scale=scale)
        self.known = known

    def forward(self, sentence_features: Iterable[dict[str, torch.Tensor]], labels: torch.Tensor) -> torch.Tensor:
        features = list(sentence_features)
        mask = self.mask(_keys(features[0]), [k for column in features[1:] for k in _keys(column)])
        embeddings = embed_columns(self.model, features)
        return self.masked_loss(embeddings[0], embeddings[1:], mask)

    def mask(self, anchors: Sequence[int], documents: Sequence[int]) -> torch.Tensor:
        """``mask[i, j]``: document ``j`` of the batch (positives first, then each negative column) is a known
        positive of anchor ``i`` other than its own positive ``j == i``."""
        where: dict[int, list[int]] = {}
        for j, d in enumerate(documents):
            where.setdefault(d, []).append(j)
        mask = torch.zeros(len(anchors), len(documents), dtype=torch.bool)
        for i, a in enumerate(anchors):
            for p in self.known.get(a, ()):
                for j in where.get(p, ()):
                    if j != i:
                        mask[i, j] = True
        return self.count(mask)

    def get_config_dict(self) -> dict[str, Any]:
        return {**super().get_config_dict(), "mask_known_positives": True}
