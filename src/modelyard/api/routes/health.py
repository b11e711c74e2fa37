"""Liveness and readiness: no authentication, reveals only the version and the database kind."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from modelyard import schemas as s
from modelyard._version import __version__
from modelyard.bootstrap import Services

from ..deps import services
from ..routing import ApiRoute

router = APIRouter(route_class=ApiRoute, prefix="/api/v1", tags=["health"])


@router.get("/health", response_model=s.Health)
def health(svc: Services = Depends(services)) -> s.Health:
    with svc.db.unit_of_work(write=False) as store:
        store.list_registries()
    return s.Health(status="ok", version=__version__, database=svc.db.dialect)
