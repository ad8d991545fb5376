"""The query parameters each API operation documents, read from the OpenAPI schema itself.

The schema is what clients are told; checking requests against it means that what the server
accepts and what the schema lists cannot drift apart (issue 10/12: unknown query parameters were
ignored while unknown body fields are refused, and ``page_size=true`` was silently taken as 20).
drf-spectacular builds the schema once per process, on the first API request (~0.4 s).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from django.utils.translation import gettext as _
from rest_framework.fields import ChoiceField

_INTEGER = re.compile(r"-?[0-9]{1,18}")
_BOOLEANS = ("true", "false")


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str | None
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] | None = None


def operation_key(view_func, method: str) -> tuple | None:
    """(view class, HTTP method, viewset action) of a resolved API view; None for other views."""
    cls = getattr(view_func, "cls", None)
    if cls is None:
        return None
    actions = getattr(view_func, "actions", None)
    return cls, method.upper(), actions.get(method.lower()) if actions else None


@functools.cache
def documented_parameters() -> dict[tuple, dict[str, Parameter]]:
    """Every operation of the schema: its query parameters by name."""
    from drf_spectacular.generators import SchemaGenerator

    class RecordingGenerator(SchemaGenerator):
        # The operations come out keyed by path; the views that made them are what a request
        # resolves to, so each view's operation is recorded as it is generated.
        def create_view(self, callback, method, request=None):
            view = super().create_view(callback, method, request)
            schema = view.schema
            generate = schema.get_operation

            def get_operation(*args, **kwargs):
                operation = generate(*args, **kwargs)
                if operation:
                    operations.append((view, method, operation))
                return operation

            schema.get_operation = get_operation
            view.schema = schema
            return view

    operations: list = []
    components = RecordingGenerator().get_schema(request=None, public=True).get("components", {}).get("schemas", {})
    documented: dict[tuple, dict[str, Parameter]] = {}
    for view, method, operation in operations:
        parameters = {}
        for parameter in operation.get("parameters", []):
            if parameter.get("in") != "query":
                continue
            schema = parameter.get("schema", {})
            if "$ref" in schema:
                schema = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
            choices = tuple(str(choice) for choice in schema["enum"]) if "enum" in schema else None
            parameters[parameter["name"]] = Parameter(
                parameter["name"], schema.get("type"), schema.get("minimum"), schema.get("maximum"), choices
            )
        key = (view.__class__, method.upper(), getattr(view, "action", None))
        documented[key] = parameters
    return documented


def query_errors(key: tuple, query) -> dict[str, list[str]]:
    """Messages per query parameter that the operation does not document, that comes more than
    once, or whose value is not of the documented type: booleans are ``true`` or ``false`` (DRF
    also took ``1``, ``yes``, ``on``), integers are whole numbers within the documented range.
    A value must be one of the documented choices. Other checks (lengths, dates, which unit) are
    the query serializers' own."""
    parameters = documented_parameters().get(key)
    if parameters is None:  # not an operation of the schema (the schema and docs views)
        return {}
    errors: dict[str, list[str]] = {}
    for name, values in query.lists():
        parameter = parameters.get(name)
        value = values[-1]
        if parameter is None:
            errors[name] = [_("Unknown field.")]
        elif len(values) > 1:
            # No parameter of the API is a list: the views would read one of the values and
            # silently drop the others.
            errors[name] = [_("Give this parameter once.")]
        elif parameter.choices is not None and value not in parameter.choices:
            # DRF's own message (and translation), as the query serializers' choice fields give it;
            # DRF's ``format`` override ignored an empty or unknown value instead.
            errors[name] = [ChoiceField.default_error_messages["invalid_choice"].format(input=value)]
        elif parameter.type == "boolean" and value not in _BOOLEANS:
            errors[name] = [_("Must be true or false.")]
        elif parameter.type == "integer":
            low, high = parameter.minimum, parameter.maximum
            number = int(value) if _INTEGER.fullmatch(value) else None
            if number is None or (low is not None and number < low) or (high is not None and number > high):
                if low is not None and high is not None:
                    message = _("Enter a whole number from %(min)d to %(max)d.") % {"min": low, "max": high}
                elif low is not None:
                    message = _("Enter a whole number of at least %(min)d.") % {"min": low}
                else:
                    message = _("Enter a whole number.")
                errors[name] = [message]
    return errors
