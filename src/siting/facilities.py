"""Existing outlets: what already serves residents, by service ("fill what is missing").

``facilities_from_file`` reads the ``[existing]`` tables of a scenario and
``facilities_from_geodataframe`` converts a GeoDataFrame; both return
:class:`ExistingFacilities`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
from numpy.typing import NDArray

from siting._errors import DataValidationError
from siting._tables import PointTable, read_ids, read_point_table, table_from_frame
from siting._validate import Problems
from siting.projection import WGS84, transform
from siting.scenario import ExistingSpec, display_path


@dataclass(frozen=True)
class ExistingFacilities:
    """Outlets already open, in one CRS.

    Attributes
    ----------
    ids
        Outlet ids (strings).
    xy
        (e, 2) coordinates in ``crs``.
    crs
        Coordinate reference system of ``xy``.
    service
        The service key each outlet provides.
    """

    ids: NDArray[np.object_]
    xy: NDArray[np.float64]
    crs: pyproj.CRS
    service: NDArray[np.object_]

    def __len__(self) -> int:
        return len(self.ids)

    def to_crs(self, crs: pyproj.CRS) -> ExistingFacilities:
        """The same outlets with coordinates transformed to ``crs``."""
        return replace(self, xy=transform(self.xy, self.crs, crs), crs=crs)

    def of_service(self, key: str) -> NDArray[np.intp]:
        """Indices of the outlets providing service ``key``."""
        return np.flatnonzero(self.service == key)

    @classmethod
    def empty(cls, crs: pyproj.CRS) -> ExistingFacilities:
        """No existing outlets."""
        return cls(
            ids=np.array([], dtype=object),
            xy=np.empty((0, 2)),
            crs=crs,
            service=np.array([], dtype=object),
        )


def facilities_from_file(
    specs: Sequence[ExistingSpec],
    *,
    service_keys: Collection[str],
    crs: pyproj.CRS | None = None,
) -> ExistingFacilities:
    """Read and concatenate the ``[existing]`` tables, transformed to ``crs``.

    Without ``crs`` the first table's CRS is used (WGS 84 if there is no table).

    Rows whose service is not in ``service_keys`` are an error, unless the table sets
    ``ignore_unknown_services = true``.

    Raises
    ------
    DataValidationError
        Listing every problem found in every table.
    """
    parts: list[ExistingFacilities] = []
    messages: list[str] = []
    for spec in specs:
        problems = Problems(display_path(spec.path))
        table = read_point_table(spec, section="[existing]", problems=problems)
        if table is not None:
            part = _facilities_from_table(table, spec, service_keys, problems)
            if part is not None:
                crs = crs or part.crs
                parts.append(part.to_crs(crs))
        messages.extend(problems.messages)
    if messages:
        raise DataValidationError(messages)
    if not parts or crs is None:
        return ExistingFacilities.empty(crs or WGS84)
    return ExistingFacilities(
        ids=np.concatenate([p.ids for p in parts]),
        xy=np.concatenate([p.xy for p in parts]),
        crs=crs,
        service=np.concatenate([p.service for p in parts]),
    )


def facilities_from_geodataframe(
    gdf: gpd.GeoDataFrame, *, id_column: str = "id", service: str = "service"
) -> ExistingFacilities:
    """Convert a GeoDataFrame of existing outlets with a service-key column."""
    spec = ExistingSpec(path=Path("<GeoDataFrame>"), id=id_column, service=service)
    problems = Problems("existing GeoDataFrame")
    ids = problems.result(read_ids(gdf, id_column, section="id_column", problems=problems))
    table = table_from_frame(gdf, ids=ids, spec=spec, section="existing", problems=problems)
    part = None if table is None else _facilities_from_table(table, spec, None, problems)
    return problems.result(part)


def _facilities_from_table(
    table: PointTable,
    spec: ExistingSpec,
    service_keys: Collection[str] | None,
    problems: Problems,
) -> ExistingFacilities | None:
    if not problems.require_columns(table.frame, {"[existing] service": spec.service}):
        return None
    service = table.frame[spec.service].fillna("").astype(str).str.strip().to_numpy(object)
    keep = np.ones(len(service), dtype=bool)
    if service_keys is not None:
        unknown = ~np.isin(service, list(service_keys))
        if spec.ignore_unknown_services:
            keep = ~unknown
        elif unknown.any():
            rows = np.flatnonzero(unknown)
            shown = ", ".join(
                f"row {r + 1} (id '{table.ids[r]}') = '{service[r]}'" for r in rows[:5]
            )
            problems.add(
                f"column '{spec.service}' names {rows.size} outlet(s) with a service that is not "
                f"in the scenario: {shown}; use one of {', '.join(sorted(service_keys))}, "
                "or set ignore_unknown_services = true in [existing]"
            )
    return ExistingFacilities(
        ids=table.ids[keep], xy=table.xy[keep], crs=table.crs, service=service[keep]
    )
