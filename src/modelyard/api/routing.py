"""``ApiRoute``: the route class of every ``/api/v1`` router, the native API's one parsing point
for what the input schemas do not see.

Before FastAPI parses anything it checks the URL's parts (every path parameter and query value
is text without NUL or lone surrogates: PostgreSQL refused them with a 500, SQLite looked them
up or stored them) and the nesting depth of a JSON body (Python's ``json`` recurses: a body
nested 100,000 deep raised ``RecursionError``, and one 900 deep was stored and then failed
every read). Body values themselves are checked by the schemas (``schemas/_base.py``). The
MLflow adapter's ``MlflowRoute`` calls the same ``check_url``.
"""

from __future__ import annotations

import email.message
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from modelyard.domain.inputs import check_json_depth, validate_text

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def check_url(request: Request) -> None:
    """Every path parameter and query key and value is storable text (``InvalidTextError``)."""
    for name, value in request.path_params.items():
        if isinstance(value, str):
            validate_text(value, field=name)
    for name, value in request.query_params.multi_items():
        validate_text(name, field="query parameter")
        validate_text(value, field=name)


def is_json(request: Request) -> bool:
    """Whether FastAPI will parse this request's body as JSON (its own content-type rule)."""
    value = request.headers.get("content-type")
    if not value:
        return False
    message = email.message.Message()
    message["content-type"] = value
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


class ApiRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            check_url(request)
            if request.method in _BODY_METHODS and is_json(request):
                check_json_depth(await request.body())  # cached: FastAPI reads the same bytes
            return await original(request)

        return handler
