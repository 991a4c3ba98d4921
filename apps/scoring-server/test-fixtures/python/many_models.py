"""Test entry script: loads every model of a many-model deployment through Model.get_model_path."""

import json
import os

from azureml.core.model import Model

models = {}


def init():
    root = os.environ["AZUREML_MODEL_DIR"]
    for name in sorted(os.listdir(root)):
        with open(Model.get_model_path(name)) as handle:
            models[name] = json.load(handle)
    print("loaded %d models" % len(models))


def run(raw_data):
    name = json.loads(raw_data)["model"]
    return {"models": len(models), "model": models[name], "path": Model.get_model_path(name, version=1)}
