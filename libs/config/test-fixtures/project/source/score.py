import json


def init():
    pass


def run(raw_data):
    return {"echo": json.loads(raw_data)}
