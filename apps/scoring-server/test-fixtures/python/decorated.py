"""Test entry script in the shape of Azure ML's generated scoring scripts: run() decorated with
inference-schema's @input_schema/@output_schema (the stand-in in test-fixtures/site)."""

import numpy as np
from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType
from inference_schema.schema_decorators import input_schema, output_schema


def init():
    pass


@input_schema("data", NumpyParameterType(np.array([[5.1, 3.5, 1.4, 0.2]])))
@input_schema("scale", StandardPythonParameterType(1.0))
@output_schema(StandardPythonParameterType({"type": "numpy.ndarray", "dtype": "float64", "sums": [10.2]}))
def run(data, scale):
    return {
        "type": "%s.%s" % (type(data).__module__, type(data).__name__),
        "dtype": str(data.dtype),
        "shape": list(data.shape),
        "sums": [round(float(value), 6) for value in data.sum(axis=1) * scale],
    }
