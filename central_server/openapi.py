"""The OpenAPI document says what every route really answers (checked by schemathesis).

Routes declare their own answers; this adds what the whole app does around them: 413 from the
body limits, 422 in both shapes (FastAPI's validation list, or our {"detail": {code, message}}),
401 behind credentials, 404 for a path naming something, 500 as central_server.faults answers it,
and Idempotency-Key as required.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from central_server.route_build import BUILDING
from central_server.schemas import Error

ERROR_REF = {"$ref": "#/components/schemas/Error"}
VALIDATION_REF = {"$ref": "#/components/schemas/HTTPValidationError"}
PUBLIC = {("post", "/api/v1/kiosks")}  # answers 401 itself (documented by the route)


def _error(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema or ERROR_REF}},
    }


def _complete(path: str, method: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    takes_input = "requestBody" in operation or bool(operation.get("parameters"))
    if method in ("post", "put", "patch"):
        responses.setdefault("413", _error("Request body over this route's limit"))
    if takes_input or "422" in responses:
        responses["422"] = _error(
            "Invalid input (field errors, or a refusal with a code)",
            {"anyOf": [VALIDATION_REF, ERROR_REF]},
        )
    if path.startswith("/api/") and (method, path) not in PUBLIC and path != "/api/v1/kiosks":
        responses.setdefault("401", _error("Missing or invalid credentials"))
    if "{" in path:
        responses.setdefault("404", _error("Not found"))
    fault = _error("Unexpected fault on the server (logged; the answer holds no detail)")
    if not path.startswith("/api/"):  # a browser (Accept: text/html) gets a page instead
        fault["content"]["text/html"] = {"schema": {"type": "string"}}
    responses.setdefault("500", fault)
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "header" and parameter.get("name", "").lower() == (
            "idempotency-key"
        ):
            parameter["required"] = True
            schema = parameter.get("schema", {})
            if "anyOf" in schema:  # Optional[...] in the code: the handler answers 400 instead
                schema = next(s for s in schema["anyOf"] if s.get("type") == "string")
            parameter["schema"] = {
                "type": "string",
                "minLength": 8,
                "maxLength": 128,
                "pattern": schema.get("pattern", r"^[A-Za-z0-9_.:-]{8,128}$"),
            }
            responses.setdefault("400", _error("Idempotency-Key missing"))


def _restate(node: Any) -> None:
    """Say in the document what validation really does, where FastAPI's rendering loses it.

    Dicts whose keys have a pattern: pydantic writes `patternProperties`, which leaves keys
    missing the pattern free though validation refuses them; `propertyNames` says it. Integer
    bounds come out as floats (2**62 as 4.611686018427388e+18, whose decimal digits lie above
    2**62): written back as the integers they are.
    """
    if isinstance(node, list):
        for item in node:
            _restate(item)
        return
    if not isinstance(node, dict):
        return
    patterns = node.get("patternProperties")
    if isinstance(patterns, dict) and len(patterns) == 1 and "additionalProperties" not in node:
        ((pattern, values),) = patterns.items()
        del node["patternProperties"]
        node["propertyNames"] = {**node.get("propertyNames", {}), "pattern": pattern}
        node["additionalProperties"] = values
    if node.get("type") == "integer":
        for bound in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            value = node.get(bound)
            if isinstance(value, float) and value.is_integer():
                node[bound] = int(value)
    for value in node.values():
        _restate(value)


def install(app: FastAPI) -> None:
    """Replace app.openapi with the completed document (built once)."""

    def openapi() -> dict[str, Any]:
        with BUILDING:  # FastAPI builds model fields for it (route_build)
            if app.openapi_schema is None:
                app.openapi_schema = _document(app)
        return app.openapi_schema

    # FastAPI's documented way to customise the schema is replacing this method.
    app.openapi = openapi  # type: ignore[method-assign]


def _document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document of `app`'s routes, completed."""
    document = get_openapi(title=app.title, version=app.version, routes=app.routes)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(
        "Error", Error.model_json_schema(ref_template="#/components/schemas/{model}")
    )
    for name, definition in schemas["Error"].pop("$defs", {}).items():
        schemas.setdefault(name, definition)
    schemas.setdefault(
        "HTTPValidationError",
        {
            "type": "object",
            "properties": {"detail": {"type": "array", "items": {"type": "object"}}},
        },
    )
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            _complete(path, method, operation)
    _restate(document)
    return document
