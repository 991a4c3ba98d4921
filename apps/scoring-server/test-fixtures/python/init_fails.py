"""Test entry script whose init() fails, as when a model file is missing."""


def init():
    raise FileNotFoundError("model file missing: /nowhere/model.pkl")


def run(raw_data):
    return "never"
