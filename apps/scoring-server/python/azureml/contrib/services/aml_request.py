"""AMLRequest and @rawhttp: a run() decorated with @rawhttp receives the whole HTTP request.

In Azure ML v1, AMLRequest was Flask's (Werkzeug's) request object. This one offers the members
v1 scoring scripts use, with the same names and types: method, path, url, args, headers, form,
files, values, stream, data, get_data(), get_json(), json. Forms (multipart/form-data and
application/x-www-form-urlencoded) are parsed by the scoring server (busboy) before the request
reaches this process; their fields and files arrive with the raw body.
"""

import io
import json
import os
from urllib.parse import parse_qsl, urlsplit


def rawhttp(func):
    """Marks run() as taking an AMLRequest instead of the body as a string."""
    func._skiff_rawhttp = True
    return func


def _header_name(name):
    # As Werkzeug spells header names from the WSGI environment: Content-Type, X-Ms-Request-Id.
    return str(name).replace("_", "-").title()


class Headers(dict):
    """A request's headers: a dict keyed as Flask spells them, with case-insensitive lookup."""

    def __init__(self, headers=()):
        super().__init__()
        pairs = headers.items() if hasattr(headers, "items") else headers
        for name, value in pairs:
            dict.__setitem__(self, _header_name(name), value)

    def __getitem__(self, name):
        return dict.__getitem__(self, _header_name(name))

    def __setitem__(self, name, value):
        dict.__setitem__(self, _header_name(name), value)

    def __delitem__(self, name):
        dict.__delitem__(self, _header_name(name))

    def __contains__(self, name):
        return dict.__contains__(self, _header_name(name))

    def get(self, name, default=None, type=None):
        if name not in self:
            return default
        value = self[name]
        if type is None:
            return value
        try:
            return type(value)
        except ValueError:
            return default


class MultiDict(dict):
    """Werkzeug's MultiDict as far as scripts use it: `d[key]`/`d.get(key)` give the first value,
    `d.getlist(key)` every value, in the order they were sent."""

    def __init__(self, pairs=()):
        super().__init__()
        self._lists = {}
        for key, value in pairs:
            self.add(key, value)

    def add(self, key, value):
        self._lists.setdefault(key, []).append(value)
        if not dict.__contains__(self, key):
            dict.__setitem__(self, key, value)

    def get(self, key, default=None, type=None):
        if key not in self:
            return default
        value = self[key]
        if type is None:
            return value
        try:
            return type(value)
        except ValueError:
            return default

    def getlist(self, key, type=None):
        values = list(self._lists.get(key, []))
        if type is None:
            return values
        converted = []
        for value in values:
            try:
                converted.append(type(value))
            except ValueError:
                pass
        return converted

    def items(self, multi=False):
        if not multi:
            return dict.items(self)
        return [(key, value) for key, values in self._lists.items() for value in values]

    def lists(self):
        return [(key, list(values)) for key, values in self._lists.items()]

    def to_dict(self, flat=True):
        return dict(dict.items(self)) if flat else dict(self.lists())


class FileStorage(object):
    """One uploaded file of a multipart/form-data request, as Werkzeug's FileStorage."""

    def __init__(self, data, filename, name, content_type):
        self.stream = io.BytesIO(data)
        self.filename = filename
        self.name = name
        self.content_type = content_type
        self.mimetype = (content_type or "").split(";")[0].strip().lower()
        self.content_length = len(data)
        self.headers = Headers({"Content-Type": content_type} if content_type else {})

    def read(self, *args):
        return self.stream.read(*args)

    def save(self, dst, buffer_size=16384):
        """Writes the file to a path or an open binary file."""
        if isinstance(dst, (str, os.PathLike)):
            with open(dst, "wb") as handle:
                handle.write(self.stream.getvalue())
            return
        position = self.stream.tell()
        self.stream.seek(0)
        while True:
            chunk = self.stream.read(buffer_size)
            if not chunk:
                break
            dst.write(chunk)
        self.stream.seek(position)

    def __getattr__(self, name):
        # seek, tell, readline, ...: as Werkzeug does, the stream's own methods.
        return getattr(self.stream, name)

    def __iter__(self):
        return iter(self.stream)

    def __bool__(self):
        return bool(self.filename)

    def __repr__(self):
        return "<FileStorage: %r (%r)>" % (self.filename, self.content_type)


class AMLRequest(object):
    """The HTTP request given to a @rawhttp run().

    `form` is a list of (name, value) pairs and `files` a list of (name, FileStorage) pairs, as
    parsed by the scoring server; both empty when the body is not a form.
    """

    def __init__(self, method, url, headers, body, form=(), files=()):
        parts = urlsplit(url)
        self.method = method
        self.headers = Headers(headers)
        self.path = parts.path
        self.query_string = parts.query.encode("utf-8")
        self.full_path = "%s?%s" % (parts.path, parts.query)
        self.host = self.headers.get("Host", "")
        self.url = "http://%s%s" % (self.host, url) if self.host else url
        self.args = MultiDict(parse_qsl(parts.query, keep_blank_values=True))
        self.form = MultiDict(form)
        self.files = MultiDict(files)
        self.values = MultiDict(list(self.args.items(multi=True)) + list(self.form.items(multi=True)))
        self.data = body
        self.content_type = self.headers.get("Content-Type")
        self.mimetype = (self.content_type or "").split(";")[0].strip().lower()
        self.content_length = len(body)

    @property
    def stream(self):
        """The raw body as a binary file (unlike Flask's, still readable after form parsing)."""
        return io.BytesIO(self.data)

    @property
    def is_json(self):
        return self.mimetype == "application/json" or (
            self.mimetype.startswith("application/") and self.mimetype.endswith("+json")
        )

    def get_data(self, cache=True, as_text=False, parse_form_data=False):
        return self.data.decode("utf-8", errors="replace") if as_text else self.data

    def get_json(self, force=False, silent=False, cache=True):
        """The body parsed as JSON; None when it is not declared JSON (as in Flask 1.x, which v1
        images ran), unless `force`."""
        if not force and not self.is_json:
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
