"""What a service is: walk-time rule, target population, costs and limits.

A :class:`Service` is one kind of outlet to place (convenience store, vegetable market,
elder care, ...). Scenario files describe services in ``[[services]]`` tables; analysts build
them directly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

POPULATION = "population"


@dataclass(frozen=True, slots=True)
class Service:
    """One service to place.

    Parameters
    ----------
    key
        Identifier, e.g. ``"breakfast_shop"``; existing outlets name it.
    walk_minutes
        A resident is covered if an outlet is at most this many minutes' walk away.
    segment
        Population weight the service targets: ``"population"`` (everyone) or a segment such as
        ``"elderly"``.
    priority
        Objective weight of one covered resident of this service (``beta_k``).
    fit_out_cost
        Cost of opening this service at a site, paid per site where it opens (currency units).
    max_new, min_new
        Bounds on the number of new outlets of this service; ``None`` means no upper bound.
    speed_m_per_s
        Walking speed for this service's residents; ``None`` uses the scenario's speed
        (elderly-priority services often use 0.8 m/s).
    floor_area_m2
        Floor area one outlet needs, checked against a site's floor area when both are given.
    name
        Display name, e.g. ``"早餐店"``; defaults to ``key``.
    """

    key: str
    walk_minutes: float
    segment: str = POPULATION
    priority: float = 1.0
    fit_out_cost: float = 0.0
    max_new: int | None = None
    min_new: int = 0
    speed_m_per_s: float | None = None
    floor_area_m2: float = 0.0
    name: str | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.walk_minutes) and self.walk_minutes > 0):
            msg = f"service '{self.key}': walk_minutes = {self.walk_minutes}; must be > 0"
            raise ValueError(msg)
        if self.max_new is not None and self.max_new < self.min_new:
            msg = (
                f"service '{self.key}': max_new = {self.max_new} is below "
                f"min_new = {self.min_new}; raise max_new or lower min_new"
            )
            raise ValueError(msg)

    @property
    def label(self) -> str:
        """The display name, falling back to the key."""
        return self.name or self.key
