"""StandardPythonParameterType: int, float, str, bool, list and dict samples."""

from .abstract_parameter_type import AbstractParameterType


def _swagger(value):
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer", "format": "int64"}
    if isinstance(value, float):
        return {"type": "number", "format": "double"}
    if isinstance(value, str):
        return {"type": "string"}
    if isinstance(value, (list, tuple)):
        return {"type": "array", "items": _swagger(value[0]) if value else {}}
    if isinstance(value, dict):
        return {"type": "object", "required": list(value), "properties": {k: _swagger(v) for k, v in value.items()}}
    raise TypeError("unsupported sample type %s" % type(value).__name__)


class StandardPythonParameterType(AbstractParameterType):
    def deserialize_input(self, input_data):
        if self.sample_data_type is float and isinstance(input_data, int):
            return input_data
        if not isinstance(input_data, self.sample_data_type):
            raise ValueError(
                "Invalid input data type to parse. Expected: %s but got %s"
                % (self.sample_data_type, type(input_data))
            )
        return input_data

    def input_to_swagger(self):
        schema = _swagger(self.sample_input)
        schema["example"] = self.sample_input
        return schema
