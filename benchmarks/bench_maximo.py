"""The 24 Máximo real-city instances (published optima), read in place from shared/."""

from __future__ import annotations

from registry import BenchSpec, Case, register

from siting import instances


def build(city: str, p: int) -> Case:
    case = Case(name=f"{city} p={p}", family="maximo", problem=None, params={})  # type: ignore[arg-type]
    with case.phase("read+coverage"):
        inst = instances.maximo_instance(city, p)
    n, m = inst.size
    case.problem = inst.problem
    case.params = {"n": n, "m": m, "K": 1, "p": p, "r": inst.params["radius_m"]}
    case.optimum, case.provenance = inst.optimum, inst.provenance
    case.pmclp = {"cover": inst.problem.coverage[0], "weights": inst.problem.weights[:, 0], "p": p}
    return case


register(
    BenchSpec(
        "maximo",
        build,
        tuple({"city": c, "p": p} for c in instances.MAXIMO_CITIES for p in instances.MAXIMO_P),
        "Máximo et al. real-city p-MCLP (Manhattan, Bronx, San Francisco, Brooklyn), p=50..100",
    )
)
