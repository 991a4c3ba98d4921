"""Test entry script: a @rawhttp run() reading the request the way Flask-era v1 scripts did."""

import hashlib
import io

from azureml.contrib.services.aml_request import rawhttp
from azureml.contrib.services.aml_response import AMLResponse


def init():
    pass


@rawhttp
def run(request):
    if request.args.get("echo"):
        # The uploaded file's bytes straight back, as an image-transforming service would.
        upload = request.files[request.args["echo"]]
        return AMLResponse(upload.read(), 200, {"Content-Type": upload.content_type})
    files = []
    for name, upload in request.files.items(multi=True):
        saved = io.BytesIO()
        upload.save(saved)
        files.append(
            {
                "field": name,
                "filename": upload.filename,
                "contentType": upload.content_type,
                "bytes": len(upload.read()),
                "sha256": hashlib.sha256(saved.getvalue()).hexdigest(),
            }
        )
    return AMLResponse(
        {
            "method": request.method,
            "path": request.path,
            "mimetype": request.mimetype,
            "args": request.args.to_dict(flat=False),
            "firstArg": request.args.get("a"),
            "form": request.form.to_dict(flat=False),
            "files": files,
            "json": request.get_json(silent=True),
            "dataBytes": len(request.get_data()),
            "streamBytes": len(request.stream.read()),
            "headerTag": request.headers.get("x-test-tag"),
        },
        200,
        json_str=True,
    )
