"""Trained models in the database: versioned per name, fingerprinted, checksummed.

Trust boundary: the fitted object is stored as a pickle, and unpickling runs code. The
SHA-256 checksum catches a damaged or truncated blob, not a forged one: whoever can write
to `trained_models` can make salesops run code when it loads a model, so that table needs the
same protection as the code (the database's own access control; no user-facing path writes
a blob, and the API never accepts one).
"""

from __future__ import annotations

import hashlib
import pickle
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from salesops.errors import NotFound, ValidationFailed
from salesops.learning.model import FittedModel
from salesops.models import TrainedModel, User

ALGORITHM = "hist-gradient-boosting+calibration/1"


def fingerprint(frame: pd.DataFrame, labels: np.ndarray | None = None) -> str:
    """SHA-256 of the rows a model learnt from (values and column names, in order)."""
    digest = hashlib.sha256()
    digest.update("\x1f".join(map(str, frame.columns)).encode())
    if len(frame):
        hashed = pd.util.hash_pandas_object(frame.reset_index(drop=True), index=False)
        digest.update(hashed.to_numpy().tobytes())
    if labels is not None:
        digest.update(np.asarray(labels, dtype="int64").tobytes())
    return digest.hexdigest()


def dumps(model: FittedModel) -> tuple[bytes, str]:
    """The model as bytes and their SHA-256."""
    blob = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    return blob, hashlib.sha256(blob).hexdigest()


def loads(blob: bytes, checksum: str) -> FittedModel:
    """The model back from `dumps`; refuses bytes whose checksum differs."""
    if hashlib.sha256(blob).hexdigest() != checksum:
        raise ValidationFailed("stored model is damaged: its checksum does not match")
    model = pickle.loads(blob)
    if not isinstance(model, FittedModel):
        raise ValidationFailed("stored model is not a salesops model")
    return model


def save(
    session: Session,
    name: str,
    model: FittedModel,
    *,
    as_of: datetime,
    fingerprint: str,
    metrics: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    by: User | None = None,
) -> TrainedModel:
    """Store `model` as the next version of `name` (1 for the first)."""
    blob, checksum = dumps(model)
    latest = session.scalar(select(func.max(TrainedModel.version)).where(TrainedModel.name == name))
    row = TrainedModel(
        name=name,
        version=(latest or 0) + 1,
        algorithm=ALGORITHM,
        as_of=as_of,
        params=model.params.as_dict() | (extra or {}),
        features=model.spec.as_dict(),
        fingerprint=fingerprint,
        metrics=metrics or {},
        rows=model.rows,
        blob=blob,
        checksum=checksum,
        created_by_id=None if by is None else by.id,
    )
    session.add(row)
    session.flush()
    return row


def latest(session: Session, name: str, *, version: int | None = None) -> TrainedModel:
    """The newest stored version of `name` (or the given `version`)."""
    query = select(TrainedModel).where(TrainedModel.name == name)
    if version is not None:
        query = query.where(TrainedModel.version == version)
    row = session.scalars(query.order_by(TrainedModel.version.desc()).limit(1)).first()
    if row is None:
        which = name if version is None else f"{name} version {version}"
        raise NotFound(f"no trained model {which}; train one first")
    return row


def load(row: TrainedModel) -> FittedModel:
    """The fitted model of a stored row (checksum verified)."""
    return loads(row.blob, row.checksum)
