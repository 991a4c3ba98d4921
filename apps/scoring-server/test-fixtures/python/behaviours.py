"""Test entry script: each request names what run() should do."""

import json
import os
import struct
import sys
import time

calls = 0


def init():
    print("behaviours: init done, pid %d" % os.getpid())


def run(raw_data):
    global calls
    calls += 1
    request = json.loads(raw_data)
    action = request.get("action", "echo")
    if action == "echo":
        return {"echo": request, "calls": calls, "pid": os.getpid()}
    if action == "raise":
        raise ValueError("bad input: %s" % request.get("detail", "none"))
    if action == "print":
        print("to stdout: %s" % request["text"])
        sys.stderr.write("to stderr: %s\n" % request["text"])
        return {"printed": True}
    if action == "sleep":
        time.sleep(request["seconds"])
        return {"slept": request["seconds"]}
    if action == "wait":
        # Blocks until the test creates the file: a request that stays in flight on demand.
        while not os.path.exists(request["file"]):
            time.sleep(0.01)
        return {"waited": True, "pid": os.getpid()}
    if action == "exit":
        # With a file: stays in run() until the test creates it, then dies.
        while "file" in request and not os.path.exists(request["file"]):
            time.sleep(0.01)
        os._exit(3)
    if action == "stray":
        # A result frame for another request id straight onto the result pipe (fd 4), as a late
        # answer of an earlier request would arrive, before this request's own answer.
        header = json.dumps({"type": "result", "id": 0, "status": 200, "headers": {}}).encode()
        body = b'{"stray": true}'
        os.write(4, struct.pack(">II", len(header), len(body)) + header + body)
        return {"real": True}
    if action == "env":
        return {name: os.environ.get(name) for name in request["names"]}
    if action == "size":
        return {"bytes": len(raw_data)}
    raise KeyError(action)
