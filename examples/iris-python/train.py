"""Trains the example models from iris.csv with the Python standard library only.

    python3 examples/iris-python/train.py

Writes two registered-model folders (name/version, as AZUREML_MODEL_DIR lays them out):
  examples/models/iris-logreg/1/iris-logreg.json  multinomial logistic regression
  examples/models/iris-tree/1/iris-tree.json      decision tree (CART, Gini, depth <= 3)
Training is deterministic: the same data gives the same bytes.

iris.csv is R. A. Fisher's Iris data (1936), public domain: 150 flowers, 4 measurements in cm.
"""

import csv
import json
import math
import os

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "..", "models")
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
CLASSES = ["setosa", "versicolor", "virginica"]


def load():
    with open(os.path.join(HERE, "iris.csv"), newline="") as handle:
        rows = list(csv.DictReader(handle))
    x = [[float(row[name]) for name in FEATURES] for row in rows]
    y = [CLASSES.index(row["species"]) for row in rows]
    return x, y


def softmax(scores):
    top = max(scores)
    exps = [math.exp(score - top) for score in scores]
    total = sum(exps)
    return [value / total for value in exps]


def train_logistic_regression(x, y, epochs=3000, rate=0.5, l2=1e-3):
    n, d, k = len(x), len(FEATURES), len(CLASSES)
    mean = [sum(row[j] for row in x) / n for j in range(d)]
    std = [math.sqrt(sum((row[j] - mean[j]) ** 2 for row in x) / n) for j in range(d)]
    z = [[(row[j] - mean[j]) / std[j] for j in range(d)] for row in x]
    weights = [[0.0] * d for _ in range(k)]
    bias = [0.0] * k
    for _ in range(epochs):
        grad_w = [[0.0] * d for _ in range(k)]
        grad_b = [0.0] * k
        for row, label in zip(z, y):
            probs = softmax([sum(w * v for w, v in zip(weights[c], row)) + bias[c] for c in range(k)])
            for c in range(k):
                error = probs[c] - (1.0 if c == label else 0.0)
                grad_b[c] += error
                for j in range(d):
                    grad_w[c][j] += error * row[j]
        for c in range(k):
            bias[c] -= rate * grad_b[c] / n
            for j in range(d):
                weights[c][j] -= rate * (grad_w[c][j] / n + l2 * weights[c][j])
    return {
        "kind": "multinomial-logistic-regression",
        "features": FEATURES,
        "classes": CLASSES,
        "mean": [round(v, 6) for v in mean],
        "std": [round(v, 6) for v in std],
        "weights": [[round(v, 6) for v in row] for row in weights],
        "bias": [round(v, 6) for v in bias],
    }


def predict_logistic_regression(model, row):
    z = [(v - m) / s for v, m, s in zip(row, model["mean"], model["std"])]
    scores = [sum(w * v for w, v in zip(ws, z)) + b for ws, b in zip(model["weights"], model["bias"])]
    return max(range(len(scores)), key=lambda c: scores[c])


def gini(labels):
    n = len(labels)
    return 1.0 - sum((labels.count(c) / n) ** 2 for c in range(len(CLASSES))) if n else 0.0


def train_tree(x, y, depth=3):
    counts = [y.count(c) for c in range(len(CLASSES))]
    leaf = {"class": max(range(len(CLASSES)), key=lambda c: counts[c]), "counts": counts}
    if depth == 0 or max(counts) == len(y):
        return leaf
    best = None
    for j in range(len(FEATURES)):
        values = sorted(set(row[j] for row in x))
        for low, high in zip(values, values[1:]):
            threshold = round((low + high) / 2, 6)
            left = [label for row, label in zip(x, y) if row[j] <= threshold]
            right = [label for row, label in zip(x, y) if row[j] > threshold]
            cost = (len(left) * gini(left) + len(right) * gini(right)) / len(y)
            if best is None or cost < best[0]:
                best = (cost, j, threshold)
    if best is None:
        return leaf
    _, j, threshold = best
    left = [(row, label) for row, label in zip(x, y) if row[j] <= threshold]
    right = [(row, label) for row, label in zip(x, y) if row[j] > threshold]
    return {
        "feature": j,
        "threshold": threshold,
        "left": train_tree([r for r, _ in left], [l for _, l in left], depth - 1),
        "right": train_tree([r for r, _ in right], [l for _, l in right], depth - 1),
    }


def predict_tree(node, row):
    while "feature" in node:
        node = node["left"] if row[node["feature"]] <= node["threshold"] else node["right"]
    return node["class"]


def save(name, model):
    folder = os.path.join(MODELS, name, "1")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name + ".json"), "w") as handle:
        json.dump(model, handle, indent=2, sort_keys=True)
        handle.write("\n")


def main():
    x, y = load()
    logreg = train_logistic_regression(x, y)
    tree = {"kind": "decision-tree", "features": FEATURES, "classes": CLASSES, "root": train_tree(x, y)}
    for name, model, predict in [
        ("iris-logreg", logreg, lambda row: predict_logistic_regression(logreg, row)),
        ("iris-tree", tree, lambda row: predict_tree(tree["root"], row)),
    ]:
        correct = sum(1 for row, label in zip(x, y) if predict(row) == label)
        print("%s: training accuracy %d/%d" % (name, correct, len(y)))
        save(name, model)


if __name__ == "__main__":
    main()
