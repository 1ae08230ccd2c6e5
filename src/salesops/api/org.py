"""REST endpoints for the organisation and plans: reps, teams, territories and quotas."""

from __future__ import annotations

from fastapi import APIRouter

from salesops.api.crud import crud_router
from salesops.crm import resources

router = APIRouter()
router.include_router(crud_router(resources.REPS, path="/reps", tag="organisation"))
router.include_router(crud_router(resources.TEAMS, path="/teams", tag="organisation"))
router.include_router(crud_router(resources.TERRITORIES, path="/territories", tag="organisation"))
router.include_router(crud_router(resources.QUOTAS, path="/quotas", tag="plans"))
