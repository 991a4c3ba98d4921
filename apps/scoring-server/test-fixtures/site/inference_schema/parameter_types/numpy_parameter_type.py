"""NumpyParameterType: converts a JSON list to a numpy array of the sample's dtype and checks
the trailing dimensions of its shape (numpy is installed where skiff's tests run)."""

import numpy as np

from .abstract_parameter_type import AbstractParameterType


def _item_swagger(dtype):
    if np.issubdtype(dtype, np.bool_):
        return {"type": "boolean"}
    if np.issubdtype(dtype, np.integer):
        return {"type": "integer", "format": "int64"}
    if np.issubdtype(dtype, np.floating):
        return {"type": "number", "format": "double"}
    return {"type": "string"}


class NumpyParameterType(AbstractParameterType):
    def __init__(self, sample_input, enforce_column_type=True, enforce_shape=True):
        if not isinstance(sample_input, np.ndarray):
            raise TypeError("the sample must be a numpy array")
        super(NumpyParameterType, self).__init__(sample_input)
        self.enforce_column_type = enforce_column_type
        self.enforce_shape = enforce_shape

    def deserialize_input(self, input_data):
        if isinstance(input_data, np.ndarray):
            return input_data
        if not isinstance(input_data, list):
            raise ValueError("Invalid input format: expected an array of items.")
        dtype = self.sample_input.dtype if self.enforce_column_type else None
        array = np.array(input_data, dtype=dtype)
        if self.enforce_shape:
            expected = self.sample_input.shape
            if array.ndim != len(expected):
                raise ValueError(
                    "Invalid input array: an array with %d dimensions is expected; input has %d [shape %s]"
                    % (len(expected), array.ndim, array.shape)
                )
            for dim in range(1, len(expected)):
                if array.shape[dim] != expected[dim]:
                    raise ValueError(
                        "Invalid input array: array has size %d on dimension #%d, while expected value is %d"
                        % (array.shape[dim], dim, expected[dim])
                    )
        return array

    def input_to_swagger(self):
        schema = _item_swagger(self.sample_input.dtype)
        for _ in range(self.sample_input.ndim):
            schema = {"type": "array", "items": schema}
        schema["format"] = "numpy.ndarray"
        schema["example"] = self.sample_input.tolist()
        return schema
