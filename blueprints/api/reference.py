"""The API reference page's content, read from the OpenAPI document (pure: dict in, rows out)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

METHOD_ORDER = ("get", "post", "put", "patch", "delete")
REF_PREFIX = "#/components/schemas/"


@dataclass(frozen=True)
class FieldRow:
    name: str
    type: str
    required: bool
    description: str
    schema_link: str | None = None  # the component schema to read for this field's fields


@dataclass(frozen=True)
class ResponseRow:
    status: str
    description: str
    media_type: str | None
    schema: str | None


@dataclass(frozen=True)
class OperationDoc:
    anchor: str
    method: str
    path: str
    summary: str
    description: str
    scopes: tuple[str, ...]
    parameters: list[FieldRow]
    body_schema: str | None
    responses: list[ResponseRow]


@dataclass(frozen=True)
class SchemaDoc:
    name: str
    description: str
    fields: list[FieldRow] = field(default_factory=list)
    enum: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TagDoc:
    name: str
    description: str
    operations: list[OperationDoc]


@dataclass(frozen=True)
class Reference:
    title: str
    version: str
    description: str
    tags: list[TagDoc]
    schemas: list[SchemaDoc]


def build_reference(document: dict[str, Any]) -> Reference:
    info = document.get("info", {})
    tag_info = {tag["name"]: tag.get("description", "") for tag in document.get("tags", [])}
    grouped: dict[str, list[OperationDoc]] = {}
    for path, item in document.get("paths", {}).items():
        for method in METHOD_ORDER:
            if method in item:
                operation = item[method]
                tag = (operation.get("tags") or ["API"])[0]
                grouped.setdefault(tag, []).append(operation_doc(path, method, operation))
    tags = [TagDoc(name, tag_info.get(name, ""), ops) for name, ops in grouped.items()]
    schemas = document.get("components", {}).get("schemas", {})
    return Reference(
        title=info.get("title", ""),
        version=info.get("version", ""),
        description=info.get("description", ""),
        tags=tags,
        schemas=[schema_doc(name, schemas[name]) for name in sorted(schemas)],
    )


def operation_doc(path: str, method: str, operation: dict[str, Any]) -> OperationDoc:
    security = operation.get("security") or [{}]
    body = operation.get("requestBody", {}).get("content", {})
    body_schema = next((ref_name(media.get("schema", {})) for media in body.values()), None)
    return OperationDoc(
        anchor=operation.get("operationId") or f"{method}-{path}",
        method=method.upper(),
        path=path,
        summary=operation.get("summary", ""),
        # flask-openapi3 joins a docstring's lines with <br/>: shown as lines, not as HTML.
        description=operation.get("description", "").replace("<br/>", "\n").strip(),
        scopes=tuple(scope for requirement in security for scope in requirement.get("bearer", [])),
        parameters=[parameter_row(parameter) for parameter in operation.get("parameters", [])],
        body_schema=body_schema,
        responses=[
            response_row(status, response)
            for status, response in sorted(operation.get("responses", {}).items())
        ],
    )


def parameter_row(parameter: dict[str, Any]) -> FieldRow:
    schema = parameter.get("schema", {})
    return FieldRow(
        name=f"{parameter.get('name', '')} ({parameter.get('in', '')})",
        type=type_name(schema),
        required=bool(parameter.get("required")),
        description=parameter.get("description") or schema.get("description", ""),
        schema_link=linked_schema(schema),
    )


def response_row(status: str, response: dict[str, Any]) -> ResponseRow:
    content = response.get("content", {})
    media_type = next(iter(content), None)
    schema = ref_name(content[media_type].get("schema", {})) if media_type else None
    return ResponseRow(status, response.get("description", ""), media_type, schema)


def schema_doc(name: str, schema: dict[str, Any]) -> SchemaDoc:
    required = set(schema.get("required", []))
    fields = [
        FieldRow(
            name=prop_name,
            type=type_name(prop),
            required=prop_name in required,
            description=prop.get("description", ""),
            schema_link=linked_schema(prop),
        )
        for prop_name, prop in schema.get("properties", {}).items()
    ]
    enum = [str(value) for value in schema.get("enum", [])]
    return SchemaDoc(name, schema.get("description", ""), fields, enum)


def ref_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(REF_PREFIX):
        return ref.removeprefix(REF_PREFIX)
    items = schema.get("items")
    return ref_name(items) if isinstance(items, dict) else None


def linked_schema(schema: dict[str, Any]) -> str | None:
    """The component schema a field's type refers to, if any (through lists and nulls)."""
    if name := ref_name(schema):
        return name
    for option in schema.get("anyOf", []) + schema.get("oneOf", []):
        if name := linked_schema(option):
            return name
    return None


def type_name(schema: dict[str, Any]) -> str:
    """A short, readable type: "string (date)", "list[Line]", "integer | null"."""
    if name := schema.get("$ref"):
        return str(name).removeprefix(REF_PREFIX)
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        return " | ".join(type_name(option) for option in options)
    if "enum" in schema:
        return " | ".join(repr(value) for value in schema["enum"])
    if "const" in schema:
        return repr(schema["const"])
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        return " | ".join(str(k) for k in kind)
    if kind == "array":
        return f"list[{type_name(schema.get('items', {}))}]"
    details = [str(schema[k]) for k in ("format",) if k in schema]
    details += [
        f"{k} {number(schema[k])}" for k in ("minimum", "maximum", "maxLength") if k in schema
    ]
    if "pattern" in schema:
        details.append(f"pattern {schema['pattern']}")
    return f"{kind} ({', '.join(details)})" if details else str(kind)


def number(value: object) -> str:
    """1.0 → "1" (flask-openapi3 reads bounds as floats)."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
