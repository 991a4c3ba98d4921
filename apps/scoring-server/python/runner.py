"""Runs one Azure ML v1 entry script for skiff's scoring server (stdlib only).

Usage: python3 runner.py <entry_script.py>

The server talks to this process over two inherited pipes: fd 3 carries requests in and fd 4
carries results out, as frames of
    uint32be header_length | uint32be body_length | header (UTF-8 JSON) | body (bytes)
stdin is closed and stdout/stderr are plain log output, so print() in the script is safe.

Frames out: {"type": "ready", "rawHttp", "inputSchema", "outputSchema"} once init() returned,
or {"type": "init-error", "message", "traceback"} (then exit 1); per request
{"type": "result", "status", "headers"} + body, or {"type": "error", "message", "traceback"}.
"""

import importlib.util
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
    except BaseException as error:  # noqa: B036 - report anything init() raises, even SystemExit
        trace = traceback.format_exc()
        sys.stderr.write(trace)
        write_frame(results, {"type": "init-error", "message": describe(error), "traceback": trace})
        return 1

    raw_http = bool(getattr(run, "_skiff_rawhttp", False))
    write_frame(
        results,
        {
            "type": "ready",
            "rawHttp": raw_http,
            "inputSchema": json_or_none(getattr(module, "INPUT_SCHEMA", None), "INPUT_SCHEMA"),
            "outputSchema": json_or_none(getattr(module, "OUTPUT_SCHEMA", None), "OUTPUT_SCHEMA"),
        },
    )

    from azureml.contrib.services.aml_request import AMLRequest

    while True:
        frame = read_frame(requests)
        if frame is None:
            return 0
        header, body = frame
        try:
            if raw_http:
                argument = AMLRequest(header["method"], header["url"], header["headers"], body)
            else:
                argument = body.decode("utf-8", errors="replace")
            status, headers, data = serialise(run(argument))
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
