"""Mount the dashboard on the app: static assets, sign-in, dashboards and record pages."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse

from salesops.compensation import web as comp_pages
from salesops.contracts import web as contract_pages
from salesops.forecasting import call_form
from salesops.forecasting import web as forecast_pages
from salesops.forecasting import web_exports as _forecast_exports  # noqa: F401 (declares tables)
from salesops.playbooks import web as playbook_pages
from salesops.territories import web as territory_pages
from salesops.web import (
    admin,
    auth_routes,
    dashboard,
    deal_edit,
    deals,
    imports,
    insights,
    quotas,
    records,
    warmup,
)
from salesops.web import insight_tables as _insight_tables  # noqa: F401 (declares tables)
from salesops.web import tables as _tables  # noqa: F401 (declares the pages' tables)


def plotly_js_path() -> Path:
    """Plotly's browser bundle, as shipped inside the plotly wheel (never a CDN)."""
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


def mount(app: FastAPI) -> None:
    """Add the dashboard's routes to `app` (the API and /static are mounted by create_app)."""

    @app.get("/assets/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(
            plotly_js_path(),
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=604800"},
        )

    app.include_router(auth_routes.router)
    app.include_router(dashboard.router)
    app.include_router(deals.router)
    app.include_router(warmup.router)
    app.include_router(records.router)
    app.include_router(deal_edit.router)
    app.include_router(quotas.router)
    app.include_router(imports.router)
    app.include_router(admin.router)
    app.include_router(forecast_pages.router)
    app.include_router(comp_pages.router)
    app.include_router(insights.router)
    app.include_router(call_form.router)
    app.include_router(playbook_pages.router)
    app.include_router(contract_pages.router)
    app.include_router(territory_pages.router)
