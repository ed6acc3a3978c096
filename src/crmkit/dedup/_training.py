"""Training a configuration's model on data, unsupervised or from labelled pairs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import attrs
import numpy as np

from crmkit.dedup._config import DedupConfig, Training
from crmkit.dedup._engine import prepare, training_sample
from crmkit.dedup._model import train_labelled
from crmkit.errors import NotFound

__all__ = ["train_model"]


def train_model(
    records: Sequence[Mapping[str, str | None]],
    config: DedupConfig,
    *,
    labelled_pairs: Iterable[tuple[str, str, bool]] | None = None,
    id_field: str = "id",
) -> DedupConfig:
    """
    A copy of ``config`` whose model is trained on ``records``, used as is after.

    Without labels, the configuration's `Training` is used (rules when it says
    none); with labelled pairs ``(id, id, same)``, m and u are the level shares among
    the matches and the non-matches.

    Raises:
        ValidationError: Records without ids, or ids used twice.
        NotFound: A labelled pair names an id that is not among the records.
        ValueError: Labelled pairs without both matches and non-matches.
    """
    ids, left, right, _, scorer = prepare(
        records, config, id_field=id_field, threshold=None, tables=None, workers=1
    )
    if labelled_pairs is None:
        training = (
            Training.RULES if config.training is Training.NONE else config.training
        )
        sample = training_sample(len(left))
        scorer.train(left[sample], right[sample], training)
        return attrs.evolve(config, model=scorer.model, training=Training.NONE)
    index = {record_id: i for i, record_id in enumerate(ids)}
    lefts, rights, same = [], [], []
    for a, b, is_match in labelled_pairs:
        for record_id in (a, b):
            if record_id not in index:
                raise NotFound("record", record_id)
        lefts.append(index[a])
        rights.append(index[b])
        same.append(is_match)
    levels = scorer.levels(
        np.asarray(lefts, dtype=np.int64), np.asarray(rights, dtype=np.int64)
    )
    model = train_labelled(config.comparisons, levels, np.asarray(same, dtype=bool))
    return attrs.evolve(config, model=model, training=Training.NONE)
