"""Registry of benchmark instance families: one file per family, each registering BenchSpecs.

A :class:`BenchSpec` names a family, a ``build(**params) -> Case`` function and a ``sweep`` of
parameter dicts (the sized instances). ``build`` does the reading / generation and coverage
work itself and reports those phases in ``Case.phases`` (wall seconds), so every method run on
the case sees the same data and the same preparation cost.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from siting.model import SitingProblem


@dataclass
class Case:
    """One built instance, ready for every method.

    ``pmclp`` is set for single-service p-facility instances that spopt can take: a dict with
    ``cover`` ((n, m) boolean CSR), ``weights`` ((n,)), ``p``, and for geometric instances
    ``demand_xy``, ``site_xy`` and ``radius`` (spopt then gets a dense ``cdist`` matrix, as its
    ``from_geodataframe`` computes).
    """

    name: str
    family: str
    problem: SitingProblem
    params: dict[str, Any]
    optimum: float | None = None
    provenance: str = "none"
    phases: dict[str, float] = field(default_factory=dict)
    pmclp: dict[str, Any] | None = None

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.phases[name] = self.phases.get(name, 0.0) + time.perf_counter() - started


@dataclass(frozen=True)
class BenchSpec:
    """A family of sized instances: ``build(**params)`` for each ``params`` in ``sweep``."""

    name: str
    build: Callable[..., Case]
    sweep: tuple[dict[str, Any], ...]
    description: str = ""

    def label(self, params: dict[str, Any]) -> str:
        return self.name + "[" + ",".join(f"{k}={v}" for k, v in params.items()) + "]"


REGISTRY: dict[str, BenchSpec] = {}
FAMILY_MODULES = ("bench_synthetic", "bench_maximo", "bench_sjc", "bench_bds")


def register(spec: BenchSpec) -> BenchSpec:
    if spec.name in REGISTRY:
        msg = f"benchmark suite '{spec.name}' registered twice"
        raise ValueError(msg)
    REGISTRY[spec.name] = spec
    return spec


def load_all() -> dict[str, BenchSpec]:
    for module in FAMILY_MODULES:
        importlib.import_module(module)
    return REGISTRY
