"""Test entry script that starts a process of its own, as scripts that launch helpers do."""

import json
import subprocess
import sys
import time


def init():
    pass


def run(raw_data):
    request = json.loads(raw_data)
    if request["action"] == "spawn":
        # The helper inherits stdout/stderr, i.e. the scoring server's log pipes.
        helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        return {"pid": helper.pid}
    if request["action"] == "sleep":
        time.sleep(request["seconds"])
        return {"slept": request["seconds"]}
    raise KeyError(request["action"])
