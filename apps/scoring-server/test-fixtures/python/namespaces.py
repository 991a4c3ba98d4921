"""Test entry script importing an installed azureml.* package beside skiff's azureml shim."""

import sys

import azureml.contrib.services.aml_request as aml_request
from azureml.core.model import Model
from azureml.monitoring import ModelDataCollector

collector = None


def init():
    global collector
    collector = ModelDataCollector("iris", designation="inputs", feature_names=["a", "b"])


def run(raw_data):
    return {
        "collected": collector.collect([[1, 2]]),
        "monitoring": sys.modules[ModelDataCollector.__module__].__file__,
        "model": sys.modules[Model.__module__].__file__,
        "modelPath": Model.get_model_path("iris-logreg"),
        "amlRequest": aml_request.__file__,
    }
