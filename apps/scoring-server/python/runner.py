"""Runs one Azure ML v1 entry script for skiff's scoring server (stdlib only).

Usage: python3 runner.py <entry_script.py>

The server talks to this process over two inherited pipes: fd 3 carries requests in and fd 4
carries results out, as frames of
    uint32be header_length | uint32be body_length | header (UTF-8 JSON) | body (bytes)
stdin is closed and stdout/stderr are plain log output, so print() in the script is safe.

Frames out: {"type": "ready", "rawHttp", "inputSchema", "outputSchema"} once init() returned,
or {"type": "init-error", "message", "traceback"} (then exit 1); per request
{"type": "result", "status", "headers"} + body, or {"type": "error", "message", "traceback"}.

Frames in: {"type": "run", "id", "method", "url", "headers"} + the request body; for a @rawhttp
run() whose request is a form, also "bodyLength" (the raw body's bytes, first in the frame's
body), "fields": [[name, value], ...] and "files": [{"name", "filename", "contentType",
"length"}, ...], each file's bytes following the raw body in that order.

run() is called the ways Azure ML v1's inference server called it:
- @rawhttp: run(AMLRequest);
- decorated with inference-schema's @input_schema: run(**json_object_body), the decorators
  converting each argument (numpy, pandas, ...);
- otherwise run(body_as_str);
and with request_headers=<dict> too when run() has a parameter of that name (not @rawhttp).
"""

import importlib.util
import inspect
import json
import os
import signal
import struct
import sys
import traceback

sys.dont_write_bytecode = True

PREFIX = struct.Struct(">II")


def read_exact(stream, length):
    chunks = []
    while length > 0:
        chunk = stream.read(length)
        if not chunk:
            return None
        chunks.append(chunk)
        length -= len(chunk)
    return b"".join(chunks)


def read_frame(stream):
    """The next (header, body), or None at the end of the stream, even in mid-frame."""
    prefix = read_exact(stream, PREFIX.size)
    if prefix is None:
        return None
    header_length, body_length = PREFIX.unpack(prefix)
    header = read_exact(stream, header_length)
    body = read_exact(stream, body_length) if body_length else b""
    if header is None or body is None:
        # The server closed fd 3 part-way through a frame: there is no request to answer.
        return None
    return json.loads(header.decode("utf-8")), body


def write_frame(stream, header, body=b""):
    data = json.dumps(header).encode("utf-8")
    stream.write(PREFIX.pack(len(data), len(body)))
    stream.write(data)
    if body:
        stream.write(body)
    stream.flush()


def describe(error):
    return "%s: %s" % (type(error).__name__, error)


def load_entry_script(path):
    directory = os.path.dirname(os.path.abspath(path))
    if directory not in sys.path:
        sys.path.insert(0, directory)
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError("cannot load %s as a Python module" % path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def json_or_none(value, name):
    """A schema the script declares, if JSON can carry it; /swagger.json falls back otherwise."""
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError) as error:
        sys.stderr.write("ignoring %s: not JSON-serialisable (%s)\n" % (name, error))
        return None


class BadRequest(Exception):
    """The request cannot be given to run(): answered 400 with this message, run() not called."""


def schema_util_for(run):
    """inference_schema.schema_util when run() is decorated with inference-schema, else None.

    Looked up in sys.modules, not imported: a decorated run() means its script imported the
    package already, and a script that does not use it must not pay for importing it (nor fail
    on a broken install of it). Only the package's public API is used, so any version works.
    """
    schema_util = sys.modules.get("inference_schema.schema_util")
    if schema_util is None:
        return None
    try:
        return schema_util if schema_util.is_schema_decorated(run) else None
    except Exception as error:  # a version of the package that does not know this function
        sys.stderr.write("cannot tell whether run() is schema-decorated (%s); "
                         "calling it with the body as a string\n" % describe(error))
        return None


def takes_request_headers(run):
    try:
        return "request_headers" in inspect.signature(run).parameters
    except (TypeError, ValueError):  # a callable without a signature Python can read
        return False


class EntryScript(object):
    """The loaded script's run() and how it wants to be called."""

    def __init__(self, module, run):
        from azureml.contrib.services import aml_request

        self.aml_request = aml_request
        self.run = run
        self.raw_http = bool(getattr(run, "_skiff_rawhttp", False))
        self.schema_util = None if self.raw_http else schema_util_for(run)
        self.request_headers = not self.raw_http and takes_request_headers(run)
        if self.schema_util is not None:
            self.input_schema = json_or_none(self.schema_util.get_input_schema(run), "input_schema")
            self.output_schema = json_or_none(self.schema_util.get_output_schema(run), "output_schema")
        else:
            self.input_schema = json_or_none(getattr(module, "INPUT_SCHEMA", None), "INPUT_SCHEMA")
            self.output_schema = json_or_none(getattr(module, "OUTPUT_SCHEMA", None), "OUTPUT_SCHEMA")

    def call(self, header, body):
        AMLRequest, FileStorage, Headers = (
            self.aml_request.AMLRequest,
            self.aml_request.FileStorage,
            self.aml_request.Headers,
        )
        if self.raw_http:
            files = []
            if "files" in header:
                view = memoryview(body)
                offset = header["bodyLength"]
                for part in header["files"]:
                    end = offset + part["length"]
                    storage = FileStorage(bytes(view[offset:end]), part["filename"], part["name"], part["contentType"])
                    files.append((part["name"], storage))
                    offset = end
                body = bytes(view[: header["bodyLength"]])
            fields = [(name, value) for name, value in header.get("fields", [])]
            return self.run(AMLRequest(header["method"], header["url"], header["headers"], body, fields, files))

        text = body.decode("utf-8", errors="replace")
        extra = {"request_headers": Headers(header["headers"])} if self.request_headers else {}
        if self.schema_util is None:
            return self.run(text, **extra)
        try:
            arguments = json.loads(text)
        except ValueError as error:
            raise BadRequest("run() takes its inputs as keyword arguments (inference-schema): "
                             "expected a JSON object, got invalid JSON (%s)" % error)
        if not isinstance(arguments, dict):
            raise BadRequest("run() takes its inputs as keyword arguments (inference-schema): "
                             "expected a JSON object, got a JSON %s" % type(arguments).__name__)
        arguments.update(extra)
        return self.run(**arguments)


def serialise(result):
    """Turns run()'s return value into (status, headers, body) as Azure ML v1 did."""
    from azureml.contrib.services.aml_response import AMLResponse

    if isinstance(result, AMLResponse):
        return result.status_code, dict(result.headers), result.get_data()
    body = json.dumps(result).encode("utf-8")
    return 200, {"Content-Type": "application/json"}, body


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: runner.py <entry_script.py>\n")
        return 2
    # The server decides when this worker ends (it closes fd 3 or kills it); an interrupt meant
    # for the server's terminal must not abort a run() in the middle.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    requests = os.fdopen(3, "rb")
    results = os.fdopen(4, "wb")

    try:
        module = load_entry_script(sys.argv[1])
        run = getattr(module, "run", None)
        if not callable(run):
            raise AttributeError("the entry script defines no run(raw_data) function")
        init = getattr(module, "init", None)
        if callable(init):
            init()
        script = EntryScript(module, run)
    except BaseException as error:  # noqa: B036 - report anything init() raises, even SystemExit
        trace = traceback.format_exc()
        sys.stderr.write(trace)
        write_frame(results, {"type": "init-error", "message": describe(error), "traceback": trace})
        return 1

    write_frame(
        results,
        {
            "type": "ready",
            "rawHttp": script.raw_http,
            "inputSchema": script.input_schema,
            "outputSchema": script.output_schema,
        },
    )

    while True:
        frame = read_frame(requests)
        if frame is None:
            return 0
        header, body = frame
        try:
            status, headers, data = serialise(script.call(header, body))
        except BadRequest as error:
            status, headers = 400, {"Content-Type": "application/json"}
            data = json.dumps({"error": str(error)}).encode("utf-8")
        except BaseException as error:  # noqa: B036 - a SystemExit in run() fails one request only
            trace = traceback.format_exc()
            write_frame(
                results,
                {"type": "error", "id": header["id"], "message": describe(error), "traceback": trace},
            )
            continue
        write_frame(
            results, {"type": "result", "id": header["id"], "status": status, "headers": headers}, data
        )


if __name__ == "__main__":
    sys.exit(main())
