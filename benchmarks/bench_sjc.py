"""San José dos Campos instances (Lorena & Pereira) with the HiGHS-computed optima."""

from __future__ import annotations

from registry import BenchSpec, Case, register

from siting import instances

SWEEP = (
    (324, 150, 20),
    (402, 150, 60),
    (500, 200, 70),
    (708, 150, 120),
    (818, 150, 100),
    (818, 200, 90),
    (818, 200, 100),
)


def build(n: int, S: float, p: int) -> Case:
    case = Case(name=f"SJC{n} S={S} p={p}", family="sjc", problem=None, params={})  # type: ignore[arg-type]
    with case.phase("read+coverage"):
        inst = instances.sjc_instance(n, S, p)
    case.problem = inst.problem
    case.params = {"n": n, "m": n, "K": 1, "p": p, "S": S}
    case.optimum, case.provenance = inst.optimum, inst.provenance
    case.pmclp = {"cover": inst.problem.coverage[0], "weights": inst.problem.weights[:, 0], "p": p}
    return case


register(
    BenchSpec(
        "sjc", build, tuple({"n": n, "S": s, "p": p} for n, s, p in SWEEP), "SJC 324-818 nodes"
    )
)
