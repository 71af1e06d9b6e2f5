"""The API's OpenAPI schema: drf-spectacular's, plus the error answers and local times it misses.

Kept apart from config.api, which DRF imports while drf-spectacular is still importing DRF.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, in words a person can act on.")


VALIDATION_ERROR = {
    "type": "object",
    "description": "Field names (or `detail`, or `non_field_errors`) with what is wrong with each.",
    "additionalProperties": {},
}
# A wall-clock time of day (handoffs, nights): JSON Schema's `time` format demands a UTC offset.
LOCAL_TIME = {
    "type": "string",
    "pattern": r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?$",
    "description": "Local wall-clock time, hh:mm[:ss], in the zone of the team or schedule.",
    "example": "09:00",
}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema, plus the error answers every operation can give.

    The exception handler and DRF answer 400 (validation, domain rule), 401/403 (no or refused
    credentials), 404 (out of reach, unknown page), 409 (state conflict), 413 (body too large),
    415 (body not JSON) and 429 (over the rate limit):
    each operation documents the ones it can reach, so clients and the schema tests know them.
    """

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        where = {parameter["in"] for parameter in operation.get("parameters", [])}
        writes = self.method != "GET"
        guarded = bool(operation.get("security"))
        # Any request may carry a malformed query string (a NUL, say) or break a rule of the domain.
        errors = {"400": ("Invalid input, or a rule of the domain forbids it.", "ValidationError")}
        if guarded:
            errors["401"] = ("Missing or unknown credentials.", "Error")
            errors["403"] = ("Not allowed to do this.", "Error")
        if writes or where & {"path", "query"}:
            # Whatever a request names (in its path, query or body) may be out of the caller's reach.
            errors["404"] = ("Not found, or out of your reach.", "Error")
        if writes:
            errors["409"] = ("Clashes with the current state.", "Error")
        if "requestBody" in operation:
            errors["413"] = ("The body is larger than the server takes.", "Error")
            errors["415"] = ("The body is not in a supported media type.", "Error")
        if guarded and getattr(self.view, "throttle_classes", None):
            errors["429"] = ("Over the per-minute request limit; `Retry-After` says when to retry.", "Error")
        for code, (description, component) in errors.items():
            if code not in operation["responses"]:
                response = self._get_response_for_code(self._component(component), code)
                operation["responses"][code] = {**response, "description": description}
        return operation

    def _component(self, name: str) -> dict[str, str]:
        if name == "Error":
            return self.resolve_serializer(ErrorSerializer, "response").ref
        component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, object=name, schema=VALIDATION_ERROR)
        self.registry.register_on_missing(component)
        return component.ref

    def _map_serializer_field(self, field: Any, direction: str, bypass_extensions: bool = False) -> dict[str, Any]:
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if isinstance(field, serializers.TimeField) and schema.get("format") == "time":
            schema = {key: value for key, value in schema.items() if key != "format"}
            schema = {**LOCAL_TIME, **schema}
        return schema
