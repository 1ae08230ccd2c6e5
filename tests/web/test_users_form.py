"""The admin Users form carries the version it was shown with: a change another admin saved
in between is not overwritten (409, the page as it is now, and the message why)."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.orm import Session

from salesops.auth import service as auth
from salesops.models import User
from tests.orgchart import Org
from tests.web.test_pages import _form_token, sign_in


def test_a_stale_users_form_is_refused_and_the_other_admins_change_stays(
    app: FastAPI, session: Session, org: Org
) -> None:
    admin = sign_in(app, session, org, "admin")
    page = admin.get("/admin/users")
    bob = org.users["bob"]
    assert f'name="version" value="{bob.version}"' in page.text
    token = _form_token(page.text)
    # Another admin disables Bob after the page was shown.
    auth.update_user(session, bob, is_active=False)
    session.commit()
    form = {"csrf_token": token, "role": "manager", "active": "on", "version": "1"}
    stale = admin.post(f"/admin/users/{bob.id}", data=form, follow_redirects=False)
    assert stale.status_code == 409, stale.text
    assert "changed by someone else" in stale.text
    session.expire_all()
    user = session.get(User, bob.id)
    assert user is not None
    assert (user.is_active, user.role) == (False, "sales_rep")
    fresh = admin.post(
        f"/admin/users/{bob.id}", data=form | {"version": "2"}, follow_redirects=False
    )
    assert fresh.status_code == 303, fresh.text
    session.expire_all()
    assert session.get(User, bob.id).role == "manager"  # type: ignore[union-attr]
