"""Proposals and approvals, shared by every planning domain (territories, quotas, contracts,
comp period close).

A domain registers a `Kind` once (how to check, apply and roll back its payload); the service
here owns the life cycle and its rules, so every domain gets the same states, permissions and
audit trail:

    draft --submit--> submitted --approve--> approved --apply--> applied --roll_back--> rolled_back
                        |  \\--reject--> rejected
                        \\--withdraw--> draft

Public API (kept backward compatible): `Kind`, `ApplyContext`, `register_kind`, `kind_of`,
`create`, `submit`, `withdraw`, `approve`, `reject`, `apply`, `roll_back`, `get`,
`list_proposals`, `history`, `STATES`.
"""

from salesops.approvals.service import (
    STATES,
    ApplyContext,
    Kind,
    apply,
    approve,
    create,
    get,
    history,
    kind_of,
    list_proposals,
    register_kind,
    reject,
    roll_back,
    submit,
    withdraw,
)

__all__ = [
    "STATES",
    "ApplyContext",
    "Kind",
    "apply",
    "approve",
    "create",
    "get",
    "history",
    "kind_of",
    "list_proposals",
    "register_kind",
    "reject",
    "roll_back",
    "submit",
    "withdraw",
]
