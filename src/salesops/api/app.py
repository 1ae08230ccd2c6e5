"""The application factory: REST API under /api/v1, the dashboard under /."""

from __future__ import annotations

import re

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from salesops import __version__
from salesops.api import auth as auth_api
from salesops.api import errors, metrics, org, security
from salesops.approvals import api as approvals_api
from salesops.compensation import api as compensation_api
from salesops.config import Settings, get_settings
from salesops.contracts import api as contracts_api
from salesops.crm import api as crm_api
from salesops.db import make_engine, session_factory
from salesops.forecasting import api as forecasting_api
from salesops.pipeline import api as pipeline_api
from salesops.playbooks import api as playbooks_api
from salesops.playbooks import feedback_api, tools_api
from salesops.scoring import api as scoring_api
from salesops.territories import api as territories_api

API_PREFIX = "/api/v1"
SWAGGER_JS = "swagger-ui-bundle-5.35.0.js"
SWAGGER_CSS = "swagger-ui-5.35.0.css"


def api_router() -> APIRouter:
    """Every REST endpoint, relative to /api/v1."""
    router = APIRouter()
    router.include_router(auth_api.router)
    router.include_router(pipeline_api.router)
    router.include_router(pipeline_api.stages_router)
    router.include_router(crm_api.router)
    router.include_router(org.router)
    router.include_router(metrics.router)
    router.include_router(forecasting_api.router)
    router.include_router(scoring_api.router)
    router.include_router(playbooks_api.router)
    router.include_router(feedback_api.router)
    router.include_router(tools_api.router)
    router.include_router(compensation_api.router)
    router.include_router(contracts_api.router)
    router.include_router(contracts_api.extra)
    router.include_router(territories_api.router)
    router.include_router(territories_api.plans_router)
    router.include_router(approvals_api.router)
    return router


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    sessions: sessionmaker[Session] | None = None,
    web: bool = True,
) -> FastAPI:
    """Build the app; it connects lazily, on the first request."""
    settings = settings or get_settings()
    app = FastAPI(
        title="salesops",
        version=__version__,
        description="Sales Operations on your own data: CRM records, pipeline, metrics.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    if sessions is None:
        sessions = session_factory(engine or make_engine(settings.database_url))
    app.state.session_factory = sessions
    app.state.settings = settings
    errors.install(app)
    app.add_middleware(security.SecurityHeaders)
    app.include_router(api_router(), prefix=API_PREFIX)
    app.mount("/static", StaticFiles(packages=[("salesops.web", "static")]), name="static")

    @app.get(f"{API_PREFIX}/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        # Swagger UI vendored in the package: the docs page works offline, with no CDN.
        page = get_swagger_ui_html(
            openapi_url=f"{API_PREFIX}/openapi.json",
            title="salesops API",
            swagger_js_url=f"/static/vendor/{SWAGGER_JS}",
            swagger_css_url=f"/static/vendor/{SWAGGER_CSS}",
            swagger_favicon_url="/static/favicon.svg",
        )
        # Its start-up script is inline: allow exactly that script, nothing else.
        body = bytes(page.body).decode()
        inline = re.findall(r"<script>(.*?)</script>", body, flags=re.DOTALL)
        page.headers["content-security-policy"] = security.policy_with_script_hashes(*inline)
        return page

    if web:
        from salesops.web.routes import mount

        mount(app)
    return app
