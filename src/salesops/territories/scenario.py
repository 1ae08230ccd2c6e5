"""Scenario files: the objective weights and constraints of one plan (YAML, validated in full)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from salesops.territories import optimizer as opt
from salesops.territories.files import definition_model, load_yaml


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WeightsDef(_Strict):
    experience: float = Field(1.0, ge=0, le=1000)
    knowledge: float = Field(1.0, ge=0, le=1000)
    quota: float = Field(1.0, ge=0, le=1000)
    buying_process: float = Field(1.0, ge=0, le=1000)
    load: float = Field(1.0, ge=0, le=1000)
    disruption: float = Field(1.0, ge=0, le=1000)
    disruption_measure: Literal["workload", "potential", "accounts"] = "workload"


class BalanceDef(_Strict):
    measure: Literal["workload", "potential", "accounts"]
    lo: float = Field(ge=0, le=1)
    hi: float = Field(ge=1, le=100)
    target: Literal["mean", "quota", "capacity"] = "mean"


class Override(_Strict):
    """A measured figure replaced by hand; the reason is kept in the audit log."""

    reason: str = Field(min_length=3, max_length=500)
    potential: Decimal | None = Field(None, ge=0)
    workload: float | None = Field(None, ge=0, le=1e6)
    complexity: float | None = Field(None, ge=0, le=1)
    experience: float | None = Field(None, ge=0, le=1)
    capacity: float | None = Field(None, ge=0, le=1e6)
    quota: Decimal | None = Field(None, ge=0)


class Scenario(_Strict):
    name: str = Field(min_length=1, max_length=120)
    territory: str | None = None  # plan only this territory's accounts and its reps
    weights: WeightsDef = Field(default_factory=WeightsDef)
    balance: list[BalanceDef] = Field(default_factory=list)
    capacity: bool = True
    max_moves: int | None = Field(None, ge=0)
    locks: list[str] = Field(default_factory=list)  # account ids kept with their owner
    candidates: int | None = Field(None, ge=1, le=1000)
    time_limit: float = Field(30.0, gt=0, le=3600)
    gap: float = Field(1e-4, ge=0, le=1)
    # What happens to a moved account's open opportunities: they follow it, or stay.
    opportunities: Literal["move", "keep"] = "move"
    accounts: dict[str, Override] = Field(default_factory=dict)
    reps: dict[str, Override] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _ids(self) -> Scenario:
        if len(set(self.locks)) != len(self.locks):
            raise ValueError("an account is locked twice")
        return self

    def settings(self) -> opt.Settings:
        w = self.weights
        return opt.Settings(
            weights=opt.Weights(
                w.experience,
                w.knowledge,
                w.quota,
                w.buying_process,
                w.load,
                w.disruption,
                w.disruption_measure,
            ),
            balance=tuple(opt.Balance(b.measure, b.lo, b.hi, b.target) for b in self.balance),
            use_capacity=self.capacity,
            max_moves=self.max_moves,
            candidates=self.candidates,
            time_limit=self.time_limit,
            gap=self.gap,
        )


def parse_scenario(data: Any, *, source: str = "scenario") -> Scenario:
    return definition_model(Scenario, data, source=source, what="scenario settings")


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file; every problem with file, line and field."""
    return load_yaml(path, lambda data, source: parse_scenario(data, source=source))
