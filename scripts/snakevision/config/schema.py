"""The JSON schema's side of the config check: readable messages, and --config strings parsed."""

from __future__ import annotations

import ast
import functools
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from snakevision.models import catalog
from snakevision.models.tasks import TASKS


def _key(path) -> str:
    """A config key as problems name it: dotted, list items by index ('train.book.seeds[1]')."""
    key = ""
    for step in path:
        key += f"[{step}]" if isinstance(step, int) else f".{step}" if key else str(step)
    return key or "(top level)"


def _written(root: dict[str, Any], error: jsonschema.ValidationError) -> dict[str, Any]:
    """The schema holding the failed keyword as written, which may be a $ref with a description."""
    node: Any = root
    for step in list(error.absolute_schema_path)[:-1]:  # the last step is the keyword
        while isinstance(node, dict) and step not in node and "$ref" in node:
            node = at(root, node["$ref"].removeprefix("#/").split("/"))  # '#/$defs/seed'
        node = node[step]
    return node if isinstance(node, dict) else {}


def _describe(error: jsonschema.ValidationError, root: dict[str, Any]) -> list[str]:
    """One line per key at fault, naming it, what is wrong and what is allowed."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    path = list(error.absolute_path)
    key = _key(path)
    if error.validator == "additionalProperties":
        known = schema.get("properties", {})
        allowed = ", ".join(sorted(known))
        return [
            f"{_key([*path, extra])}: unknown key; allowed keys: {allowed}"
            for extra in error.instance
            if extra not in known
        ]
    if error.validator == "required":
        missing = re.match(r"(.+) is a required property$", error.message)
        name = ast.literal_eval(missing[1]) if missing else error.message
        return [f"{_key([*path, name])}: a required key, missing"]
    if "propertyNames" in error.absolute_schema_path:  # a key of the wrong name: path is its map
        allowed = ", ".join(schema.get("enum", [])) or schema.get("description", "")
        return [f"{_key([*path, error.instance])}: unknown key; allowed keys: {allowed}"]
    if error.validator == "enum":
        return [
            f"{key}: {error.instance!r} is not allowed; allowed values: {error.validator_value}"
        ]
    if isinstance(error.instance, float) and not math.isfinite(error.instance):
        return [f"{key}: {error.instance} is not allowed; allowed: a finite number"]
    description = _written(root, error).get("description") or schema.get("description")
    hint = f" ({description})" if description else ""
    bounds = ""
    if error.validator in ("minimum", "maximum") and {"minimum", "maximum"} <= set(schema):
        bounds = f"; allowed: {schema['minimum']}..{schema['maximum']}"
    return [f"{key}: {error.message}{hint}{bounds}"]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# JSON Schema counts 1000.0 as an integer, and .nan and .inf as numbers (nan passes every
# bound); the jobs' range(), array shapes and timeouts do not.
_Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine_many(
        {
            "integer": lambda _, value: _is_number(value) and isinstance(value, int),
            "number": lambda _, value: _is_number(value) and math.isfinite(value),
        }
    ),
)


def _with_catalog(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with its architectures from the catalog: adding a model needs no schema edit.

    Each task's train holds a whole section per architecture and, for any other run, a run's
    section: the same settings, each optional, and each a list of values in its sweep.
    """
    defs, tasks = schema["$defs"], schema["properties"]
    settings = defs["train"]["properties"]
    run = defs["run"]["properties"]
    run.update(settings)
    run["sweep"]["properties"] = {
        key: {"type": "array", "minItems": 1, "uniqueItems": True, "items": value}
        for key, value in settings.items()
        if key != "seeds"  # every run lists its seeds already
    }
    for task in TASKS:
        train = tasks[task]["properties"]["train"]
        train["properties"] = {name: {"$ref": "#/$defs/train"} for name in catalog.trained(task)}
        train["required"] = catalog.trained(task)
    return schema


def _validator(schema_path: Path) -> jsonschema.protocols.Validator:
    stat = Path(schema_path).stat()
    return _cached_validator(str(schema_path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _cached_validator(path: str, mtime_ns: int, size: int) -> jsonschema.protocols.Validator:
    """The schema's validator, read once per version of the file, with libyaml where built."""
    # Each snakemake call wants it twice: for the --config strings, then for the check.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return _Validator(_with_catalog(yaml.load(Path(path).read_text(), Loader=loader)))


def _parsed(text: str) -> Any:
    """A --config string as Snakemake parses a top-level value: int, float, then YAML."""
    for parse in (int, float):
        try:
            return parse(text)
        except ValueError:
            pass
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def parse_nested_strings(
    config: dict[str, Any], schema_path: Path, given: Mapping[str, Any]
) -> None:
    """Parse, in place, the strings given with --config that the schema refuses ('7' -> 7).

    Snakemake parses a nested --config value (`--config 'split={seed: 7}'`) with YAML's base
    loader, which leaves every scalar a string; a config file would have given numbers. Only
    strings found at the same place in `given` (the --config values) are parsed: a string in
    a config file is the user's choice, and the check names it. A parsed value is kept when it
    has the type the schema asks for, so that an out-of-range number is reported as such.
    """
    validator = _validator(schema_path)
    for error in list(validator.iter_errors(config)):  # all found before any is changed
        path = list(error.absolute_path)
        if not isinstance(error.instance, str) or not path or at(given, path) != error.instance:
            continue
        value = _parsed(error.instance)
        schema = error.schema if isinstance(error.schema, dict) else {}
        wanted = {"type": schema["type"]} if "type" in schema else schema
        if not isinstance(value, str) and validator.evolve(schema=wanted).is_valid(value):
            at(config, path[:-1])[path[-1]] = value


def at(tree: Mapping[str, Any], path: list[Any]) -> Any:
    """The value at path in nested mappings and lists (an index), or None where there is none."""
    for key in path:
        if (
            isinstance(tree, list)
            and isinstance(key, int)
            and 0 <= key < len(tree)
            or isinstance(tree, Mapping)
            and key in tree
        ):
            tree = tree[key]
        else:
            return None
    return tree


def schema_errors(config: dict[str, Any], schema_path: Path) -> list[str]:
    """Every schema violation of config, one readable line each."""
    validator = _validator(schema_path)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    return [line for e in errors for line in _describe(e, validator.schema)]
