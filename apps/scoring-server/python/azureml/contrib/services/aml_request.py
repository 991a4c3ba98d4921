"""AMLRequest and @rawhttp: a run() decorated with @rawhttp receives the whole HTTP request.

AMLRequest offers the parts of Flask's request object that v1 scoring scripts use.
"""

import json
from urllib.parse import parse_qs, urlsplit


def rawhttp(func):
    """Marks run() as taking an AMLRequest instead of the body as a string."""
    func._skiff_rawhttp = True
    return func


class _Headers(dict):
    """Case-insensitive header lookup, like Flask's request.headers."""

    def __init__(self, headers):
        super().__init__({key.lower(): value for key, value in headers.items()})

    def __getitem__(self, key):
        return super().__getitem__(key.lower())

    def get(self, key, default=None):
        return super().get(key.lower(), default)

    def __contains__(self, key):
        return super().__contains__(key.lower())


class AMLRequest(object):
    def __init__(self, method, url, headers, body):
        parts = urlsplit(url)
        self.method = method
        self.path = parts.path
        self.query_string = parts.query.encode("utf-8")
        self.full_path = "%s?%s" % (parts.path, parts.query)
        self.url = url
        self.headers = _Headers(headers)
        self.args = {key: values[0] for key, values in parse_qs(parts.query).items()}
        self.data = body
        self.content_type = self.headers.get("content-type")
        self.mimetype = (self.content_type or "").split(";")[0].strip()

    def get_data(self, as_text=False):
        return self.data.decode("utf-8", errors="replace") if as_text else self.data

    def get_json(self, force=False, silent=False):
        if not force and self.mimetype != "application/json":
            return None
        try:
            return json.loads(self.data.decode("utf-8"))
        except ValueError:
            if silent:
                return None
            raise

    @property
    def json(self):
        return self.get_json()
