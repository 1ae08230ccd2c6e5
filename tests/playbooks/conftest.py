from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from salesops.models import PlaybookRevision
from salesops.playbooks import service
from tests.appsupport import app, client_as, org, session

__all__ = ["app", "client_as", "org", "session"]

SHIPPED = Path(__file__).resolve().parents[2] / "src/salesops/playbooks/meddicc.yaml"


@pytest.fixture
def meddicc(session: Session) -> PlaybookRevision:
    revision = service.load(session, SHIPPED)
    session.commit()
    return revision
