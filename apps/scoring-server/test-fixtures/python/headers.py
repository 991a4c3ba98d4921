"""Test entry script with v1's run(data, request_headers) signature."""

import json


def init():
    pass


def run(data, request_headers):
    return {
        "data": json.loads(data),
        "isDict": isinstance(request_headers, dict),
        "tag": request_headers.get("X-Test-Tag"),
        "lowerTag": request_headers.get("x-test-tag"),
        "requestId": request_headers.get("X-Ms-Client-Request-Id"),
        "names": sorted(request_headers),
    }
