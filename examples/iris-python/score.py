"""Iris classifier entry script in the Azure ML v1 style: init() once, run(raw_data) per request.

Request:  {"data": [[sepal_length, sepal_width, petal_length, petal_width], ...]}  (cm)
Response: {"predictions": ["setosa", ...], "probabilities": [[p_setosa, p_versicolor, p_virginica], ...]}
"""

import json
import math
import os

model = None

INPUT_SCHEMA = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "data": {
            "type": "array",
            "items": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4},
        }
    },
    "example": {"data": [[5.1, 3.5, 1.4, 0.2]]},
}
OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "predictions": {"type": "array", "items": {"type": "string"}},
        "probabilities": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
    },
}


def init():
    global model
    # One model deployed: AZUREML_MODEL_DIR is that model's folder (<name>/<version>).
    path = os.path.join(os.getenv("AZUREML_MODEL_DIR"), "iris-logreg.json")
    with open(path) as handle:
        model = json.load(handle)
    print("loaded %s with classes %s" % (path, model["classes"]))


def predict(row):
    if len(row) != len(model["features"]):
        raise ValueError("expected %d measurements per flower, got %d" % (len(model["features"]), len(row)))
    z = [(float(v) - m) / s for v, m, s in zip(row, model["mean"], model["std"])]
    scores = [sum(w * v for w, v in zip(ws, z)) + b for ws, b in zip(model["weights"], model["bias"])]
    top = max(scores)
    exps = [math.exp(score - top) for score in scores]
    total = sum(exps)
    return [value / total for value in exps]


def run(raw_data):
    rows = json.loads(raw_data)["data"]
    probabilities = [predict(row) for row in rows]
    return {
        "predictions": [model["classes"][p.index(max(p))] for p in probabilities],
        "probabilities": [[round(v, 6) for v in p] for p in probabilities],
    }
