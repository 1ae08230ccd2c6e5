"""The pure contract core: transitions, money, proration, dates and approval rules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from salesops.contracts import lifecycle as core
from salesops.contracts.rules import DEFAULT_RULES, parse_rules
from salesops.errors import ValidationFailed
from salesops.models import Role


def test_an_unapproved_contract_cannot_be_signed() -> None:
    for status in ("draft", "in_review", "approved"):
        assert "cannot be signed" in (core.transition_problem(status, "active") or "")
    assert core.transition_problem("sent", "active") is None
    assert "final" in (core.transition_problem("expired", "active") or "")
    assert "not a contract status" in (core.transition_problem("draft", "lost") or "")


def test_line_money_and_proration_to_the_cent() -> None:
    assert core.line_net(10, Decimal("1200"), Decimal("0.25")) == Decimal("9000.00")
    # 184 days from 1 July to 31 December, both included: 1800 x 184 / 365 = 907.397...
    assert core.prorate(Decimal(1800), date(2026, 7, 1), date(2026, 12, 31)) == Decimal("907.40")
    assert core.prorate(Decimal(-200), date(2026, 10, 1), date(2026, 12, 31)) == Decimal("-50.41")
    assert core.prorate(Decimal(100), date(2026, 2, 1), date(2026, 1, 31)) == Decimal("0.00")


def test_terms_end_the_day_before_their_anniversary_and_clamp_month_ends() -> None:
    assert core.end_for(date(2026, 1, 1), 12) == date(2026, 12, 31)
    assert core.end_for(date(2026, 1, 31), 1) == date(2026, 2, 27)
    assert core.add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert core.notice_date(date(2026, 12, 31), 30) == date(2026, 12, 1)
    assert core.renewal_trigger(date(2026, 12, 31), 30, 60) == date(2026, 10, 2)


def test_the_price_increase_cap_limits_a_renewal() -> None:
    current = Decimal(1000)
    assert core.capped_renewal_value(current, Decimal(1200), Decimal("0.05")) == Decimal("1050.00")
    assert core.capped_renewal_value(current, Decimal(1020), Decimal("0.05")) == Decimal("1020.00")
    assert core.capped_renewal_value(current, Decimal(1200), None) == Decimal("1200.00")


def test_the_default_rules_ask_the_right_role() -> None:
    rules = parse_rules(DEFAULT_RULES.read_text(), name="approval_rules.yaml")

    def needed(discount: str, value: int = 1000, special: bool = False) -> Role:
        facts = core.ContractFacts(Decimal(discount), Decimal(value), 12, special)
        return core.approver_role(core.required_approvals(rules, facts))

    assert needed("0.10") == Role.MANAGER  # the default approver
    assert needed("0.25") == Role.MANAGER
    assert needed("0.45") == Role.DIRECTOR
    assert needed("0.0", special=True) == Role.DIRECTOR
    assert needed("0.0", value=600_000) == Role.DIRECTOR
    assert core.may_approve(Role.DIRECTOR, Role.MANAGER)
    assert not core.may_approve(Role.MANAGER, Role.DIRECTOR)
    assert not core.may_approve(Role.SALES_REP, Role.MANAGER)


def test_a_bad_rules_file_names_every_problem() -> None:
    text = "rules:\n  - name: x\n    when: {discount_above: 2}\n    approver: ceo\nextra: 1\n"
    with pytest.raises(ValidationFailed) as caught:
        parse_rules(text, name="rules.yaml")
    where = {p.location for p in caught.value.problems}
    assert where == {
        "rules.yaml: rules[0].when.discount_above",
        "rules.yaml: rules[0].approver",
        "rules.yaml: extra",
    }
    with pytest.raises(ValidationFailed, match="not valid YAML"):
        parse_rules("rules: [", name="rules.yaml")
