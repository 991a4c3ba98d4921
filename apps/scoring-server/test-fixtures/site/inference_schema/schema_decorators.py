"""@input_schema(name, parameter_type) and @output_schema(parameter_type), as in inference-schema:
the input decorator converts its keyword argument with the parameter type; both record a
swagger schema (with the sample as its example) for schema_util."""

import functools
import inspect

from .parameter_types.abstract_parameter_type import AbstractParameterType
from .schema_util import _entry, _original


def input_schema(param_name, param_type, convert_to_provided_type=True, optional=False):
    if not isinstance(param_type, AbstractParameterType):
        raise TypeError("param_type must be an AbstractParameterType")

    def decorate(func):
        original = _original(func)
        entry = _entry(func)
        schema = entry.setdefault(
            "input_schema",
            {
                "type": "object",
                "properties": {name: {} for name in inspect.signature(original).parameters},
                "example": {name: "" for name in inspect.signature(original).parameters},
            },
        )
        swagger = param_type.input_to_swagger()
        schema["example"][param_name] = swagger.pop("example")
        schema["properties"][param_name] = swagger

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            if convert_to_provided_type and param_name in kwargs:
                if not (optional and kwargs[param_name] is None):
                    kwargs[param_name] = param_type.deserialize_input(kwargs[param_name])
            elif convert_to_provided_type and not optional:
                position = list(inspect.signature(original).parameters).index(param_name)
                args = list(args)
                args[position] = param_type.deserialize_input(args[position])
            return func(*args, **kwargs)

        return wrapper

    return decorate


def output_schema(output_type):
    if not isinstance(output_type, AbstractParameterType):
        raise TypeError("output_type must be an AbstractParameterType")

    def decorate(func):
        entry = _entry(func)
        if "output_schema" in entry:
            raise ValueError("output schema already defined")
        entry["output_schema"] = output_type.input_to_swagger()

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            return func(*args, **kwargs)

        return wrapper

    return decorate
