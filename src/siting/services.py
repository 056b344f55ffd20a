"""What a service is: walk-time rule, target population, costs and limits.

A :class:`Service` is one kind of outlet to place (convenience store, vegetable market,
elder care, ...). Scenario files describe services in ``[[services]]`` tables; analysts build
them directly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

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
    budget
        Money for this service's fit-out costs alone; None for no separate limit.
    target_share
        Coverage share (0-1) the plan must reach for this service (the constraint of
        ``min_cost`` mode, a floor in the others); None for none.
    decay_minutes
        Partial coverage: full credit up to ``walk_minutes``, decaying linearly to zero at
        this many minutes (approximated by ``decay_steps`` equal steps, each credited at its
        midpoint); None for a hard threshold.
    decay_steps
        Number of steps of the decay approximation.
    mobile_cost
        Cost of one mobile outlet (cart, truck, locker) of this service at a mobile location;
        None if the service has no mobile form.
    mobile_walk_minutes
        Walk threshold of a mobile outlet; None: the same as ``walk_minutes``.
    category
        ``"basic"``, ``"quality"`` or another catalog class, for reports; None if unknown.
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
    budget: float | None = None
    target_share: float | None = None
    decay_minutes: float | None = None
    decay_steps: int = 5
    mobile_cost: float | None = None
    mobile_walk_minutes: float | None = None
    category: str | None = None

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
        if self.decay_minutes is not None and self.decay_minutes <= self.walk_minutes:
            msg = (
                f"service '{self.key}': decay_minutes = {self.decay_minutes} must exceed "
                f"walk_minutes = {self.walk_minutes}"
            )
            raise ValueError(msg)

    @property
    def reach_minutes(self) -> float:
        """The longest walk that earns any credit: ``decay_minutes`` or ``walk_minutes``."""
        return self.decay_minutes or self.walk_minutes

    def credit(self, minutes: NDArray[np.float64]) -> NDArray[np.float64]:
        """Credit in [0, 1] of a walk of ``minutes``: 1 within the threshold, then steps down.

        With ``decay_minutes``, the band between the two thresholds is split into
        ``decay_steps`` equal steps, each credited at the linear decay's value at its midpoint;
        walks beyond ``decay_minutes`` earn nothing.
        """
        minutes = np.asarray(minutes, dtype=np.float64)
        tolerance = 1e-9
        full = minutes <= self.walk_minutes + tolerance
        if self.decay_minutes is None:
            return full.astype(np.float64)
        width = (self.decay_minutes - self.walk_minutes) / self.decay_steps
        step = np.ceil((minutes - self.walk_minutes - tolerance) / width)
        partial = 1.0 - (step - 0.5) / self.decay_steps
        inside = minutes <= self.decay_minutes + tolerance
        return np.where(full, 1.0, np.where(inside, partial, 0.0))

    @property
    def label(self) -> str:
        """The display name, falling back to the key."""
        return self.name or self.key
