"""Public API the scoring server calls: is_schema_decorated, get_input_schema, get_output_schema.

Schemas are kept per original function (module + name), as the real package keeps them, so a
run() wrapped by several decorators is found through any of its wrappers.
"""

_schemas = {}


def _original(func):
    while hasattr(func, "__wrapped__"):
        func = func.__wrapped__
    return func


def _key(func):
    original = _original(func)
    return "%s.%s" % (getattr(original, "__module__", "?"), getattr(original, "__name__", "?"))


def _entry(func):
    return _schemas.setdefault(_key(func), {})


def is_schema_decorated(func):
    return _key(func) in _schemas


def get_input_schema(func):
    return _schemas.get(_key(func), {}).get("input_schema", {"type": "object"})


def get_output_schema(func):
    return _schemas.get(_key(func), {}).get("output_schema", {"type": "object"})
