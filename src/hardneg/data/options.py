"""Where a command's (query, positive) data comes from: the data options ``mine``, ``audit`` and ``teacher``
share, declared beside the loaders they drive."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hardneg.fields import Options, option

if TYPE_CHECKING:
    from hardneg.data.dataset import AbsentDocuments, RetrievalData

EXTRA_POSITIVES_HELP = (
    "qrels-style TSV (query-id, corpus-id, score) of more positives, e.g. the marks downloaded from `hardneg inspect`; "
    "they are never negatives and count as positives"
)


@dataclass
class DataOptions(Options):
    """Where the (query, positive) data comes from: ``mine``, ``audit`` and ``teacher``."""

    data: str = option("demo", "'demo', a BEIR folder, or a pair file (.jsonl, .csv, .tsv, .parquet)", group="data")
    split: str = option("train", "qrels split of a BEIR folder", group="data")
    anchor_column: str | None = option(None, "anchor column of a pair file (default: the first column)", group="data")
    positive_column: str | None = option(None, "positive column of a pair file (default: the second column)", group="data")
    corpus: str | None = option(
        None, "extra negative candidates for a pair file: corpus.jsonl or a table with 'text'", group="data"
    )
    on_error: str = option(
        "raise",
        "bad input records: 'raise' stops with the file and line, 'skip' warns and skips them",
        choices=("raise", "skip"),
        group="data",
    )
    extra_positives: str | None = option(None, EXTRA_POSITIVES_HELP, group="data")
    tsv_quotes: bool = option(
        False, "read a .tsv pair file with CSV quoting rules (default: literally, quotes are text)", group="data"
    )

    def load_data(self, absent_documents: AbsentDocuments = "refuse", *, data: Any = None, corpus: Any = None) -> RetrievalData:
        """The data these options name; ``absent_documents`` as in :func:`hardneg.data.load_data`. ``data`` and
        ``corpus``: objects in memory to load instead of the ones named (which then only label them)."""
        from hardneg.data import load_data

        return load_data(
            self.data if data is None else data,
            split=self.split,
            anchor_column=self.anchor_column,
            positive_column=self.positive_column,
            corpus=self.corpus if corpus is None else corpus,
            on_error=self.on_error,
            extra_positives=self.extra_positives,
            tsv_quotes=self.tsv_quotes,
            absent_documents=absent_documents,
        )
