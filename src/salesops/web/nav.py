"""The dashboard navigation: other packages add their pages here (see docs/web.md).

A page registers itself with `register(NavItem(...))` when its router is mounted; the base
template draws the sidebar from `NAV`, in `order`, hiding items the user's role may not see.
"""

from __future__ import annotations

from dataclasses import dataclass

from salesops.models import Role


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    icon: str = "dot"
    order: int = 100
    roles: frozenset[Role] | None = None  # None: every signed-in user

    def visible_to(self, role: str) -> bool:
        return self.roles is None or Role(role) in self.roles


NAV: list[NavItem] = []


def active_href(path: str) -> str | None:
    """The sidebar entry a page belongs to: the longest entry that is the path or a parent of
    it ("/forecast/accuracy" is "Forecast accuracy", not also "Forecast")."""
    matches = [
        n.href
        for n in NAV
        if path == n.href or (n.href != "/" and path.startswith(n.href.rstrip("/") + "/"))
    ]
    return max(matches, key=len, default=None)


def register(item: NavItem) -> None:
    """Add (or replace, by href) a sidebar entry."""
    NAV[:] = sorted([n for n in NAV if n.href != item.href] + [item], key=lambda n: n.order)


for _item in (
    NavItem("Overview", "/", "home", 10),
    NavItem("Pipeline", "/pipeline", "layers", 20),
    NavItem("Funnel", "/funnel", "funnel", 30),
    NavItem("Leaderboard", "/leaderboard", "trophy", 40),
    NavItem("Pipeline health", "/health", "pulse", 50),
    NavItem("Deals", "/deals", "list", 60),
    NavItem("Users", "/admin/users", "users", 890, frozenset({Role.ADMIN})),
    NavItem("Audit log", "/admin/audit", "shield", 900, frozenset({Role.ADMIN})),
):
    register(_item)
