"""Defaults used when a scenario or a caller leaves a value out.

Values come from ``shared/domain/service-catalog.md`` where a source exists (walk speed and
detour factor) and are engineering choices otherwise. They are plain module constants: pass a
value explicitly to override one for a single call or scenario.

Attributes
----------
WALK_SPEED_M_PER_S
    Adult walking speed, 1.0 m/s (60 m/min; GB 50647-2011 design speed).
DETOUR_FACTOR
    Straight-line distance times this factor estimates network walking distance (1.3; the
    literature gives 1.2-1.3 in cities, pedestrians higher).
SOLVER
    Default backend, ``"highs"``.
TIME_LIMIT_S
    Default solver time limit in seconds.
MIP_GAP
    Default relative MIP gap; 0 asks for a proof of optimality.
MAX_SNAP_M
    Farthest a point may be from the street network's nearest node, in metres (300 m: five
    minutes of access walk; farther usually means a wrong CRS or a network that does not cover
    the point).
COVERAGE_TOLERANCE_MIN
    Slack in minutes when comparing a walk time with a threshold, so that a walk of exactly
    ``walk_minutes`` counts as covered despite floating-point rounding.
"""

from __future__ import annotations

WALK_SPEED_M_PER_S: float = 1.0
DETOUR_FACTOR: float = 1.3
SOLVER: str = "highs"
TIME_LIMIT_S: float = 600.0
MIP_GAP: float = 0.0
COVERAGE_TOLERANCE_MIN: float = 1e-9
MAX_SNAP_M: float = 300.0
