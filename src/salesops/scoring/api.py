"""REST endpoints for deal scores: read-only and scoped like the deals themselves.

Everyone reads the scores of the deals they may see (a rep their own, a manager their
teams', the roles that see the company all of them) and the stored model's description and
hold-out figures (no deal data). Training and applying are CLI commands (`salesops deals
score ...`): they read the whole history and belong with the other batch work.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from salesops import learning
from salesops.api.crud import ERRORS
from salesops.api.deps import CurrentUser, SessionDep
from salesops.scoring import service

router = APIRouter(prefix="/deal-scores", tags=["deal scores"], responses=ERRORS)


@router.get("", summary="Win probability and reasons of the open deals the caller may see")
def list_scores(
    session: SessionDep,
    who: CurrentUser,
    limit: int = Query(100, ge=1, le=5000),
) -> list[dict[str, Any]]:
    owners = None if who.scope.sees_all else sorted(who.scope.rep_ids or ())
    return service.scores(session, owner_ids=owners, limit=limit)


@router.get("/model", summary="The newest deal model: version, features, hold-out figures")
def model(session: SessionDep, who: CurrentUser) -> dict[str, Any]:
    del who  # any signed-in user: the description holds no deal data
    row = learning.latest(session, service.MODEL_NAME)
    return {
        "name": row.name,
        "version": row.version,
        "algorithm": row.algorithm,
        "as_of": row.as_of.isoformat(),
        "created_at": row.created_at.isoformat(),
        "rows": row.rows,
        "params": row.params,
        "features": row.features,
        "fingerprint": row.fingerprint,
        "evaluation": row.metrics,
    }
