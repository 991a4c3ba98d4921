"""AMLResponse: what a @rawhttp run() returns to choose the status, headers and body."""

import json


class AMLResponse(object):
    def __init__(self, message, status_code, response_headers=None, json_str=False):
        self.status_code = int(status_code)
        self.headers = dict(response_headers or {})
        if json_str:
            message = json.dumps(message)
            self.headers.setdefault("Content-Type", "application/json")
        if message is None:
            message = b""
        self.data = message if isinstance(message, bytes) else str(message).encode("utf-8")
        self.headers.setdefault("Content-Type", "text/plain; charset=utf-8")

    def get_data(self, as_text=False):
        return self.data.decode("utf-8") if as_text else self.data
