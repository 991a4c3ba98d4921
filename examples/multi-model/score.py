"""Two registered models in one service, found the Azure ML v1 way: Model.get_model_path.

Deployed with models iris-logreg:1 and iris-tree:1, AZUREML_MODEL_DIR holds one folder per
model (<name>/<version>/...). run() answers with both models' predictions and whether they agree.

Request:  {"data": [[sepal_length, sepal_width, petal_length, petal_width], ...]}  (cm)
"""

import json
import math

from azureml.core.model import Model

logreg = None
tree = None


def init():
    global logreg, tree
    with open(Model.get_model_path("iris-logreg")) as handle:
        logreg = json.load(handle)
    with open(Model.get_model_path("iris-tree", version=1)) as handle:
        tree = json.load(handle)


def logreg_class(row):
    z = [(float(v) - m) / s for v, m, s in zip(row, logreg["mean"], logreg["std"])]
    scores = [sum(w * v for w, v in zip(ws, z)) + b for ws, b in zip(logreg["weights"], logreg["bias"])]
    return logreg["classes"][scores.index(max(scores))]


def tree_class(row):
    node = tree["root"]
    while "feature" in node:
        node = node["left"] if float(row[node["feature"]]) <= node["threshold"] else node["right"]
    return tree["classes"][node["class"]]


def run(raw_data):
    rows = json.loads(raw_data)["data"]
    for row in rows:
        if len(row) != 4 or any(isinstance(v, bool) or not isinstance(v, (int, float)) or math.isnan(v) for v in row):
            raise ValueError("each flower needs 4 numeric measurements, got %r" % (row,))
    a = [logreg_class(row) for row in rows]
    b = [tree_class(row) for row in rows]
    return {"logreg": a, "tree": b, "agree": [x == y for x, y in zip(a, b)]}
