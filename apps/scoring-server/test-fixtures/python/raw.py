"""Test entry script that takes the raw request (@rawhttp) and answers with AMLResponse."""

from azureml.contrib.services.aml_request import AMLRequest, rawhttp
from azureml.contrib.services.aml_response import AMLResponse


def init():
    pass


@rawhttp
def run(request):
    assert isinstance(request, AMLRequest)
    if request.method == "GET":
        return AMLResponse("hello " + request.args.get("name", "nobody"), 200)
    body = request.get_json()
    return AMLResponse(
        {
            "method": request.method,
            "path": request.path,
            "tag": request.headers.get("X-Test-Tag"),
            "body": body,
            "bytes": len(request.get_data()),
        },
        201,
        {"X-Scored-By": "raw.py"},
        json_str=True,
    )
