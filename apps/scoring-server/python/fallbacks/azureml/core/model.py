"""Model.get_model_path for entry scripts, over skiff's AZUREML_MODEL_DIR layout.

With one model, AZUREML_MODEL_DIR is that model's folder, <root>/<name>/<version>. With several,
it is <root>, holding <name>/<version>/ for each. As in Azure ML v1, a model registered from a
single file or folder resolves to that file or folder inside its version folder.
"""

import os


class ModelNotFoundError(Exception):
    pass


def _versions(folder):
    found = []
    for entry in os.listdir(folder):
        if entry.isdigit() and os.path.isdir(os.path.join(folder, entry)):
            found.append(int(entry))
    return sorted(found)


def _version_folder(model_dir, model_name, version):
    named = os.path.join(model_dir, model_name)
    if os.path.isdir(named) and _versions(named):
        chosen = version if version is not None else _versions(named)[-1]
        folder = os.path.join(named, str(chosen))
        if os.path.isdir(folder):
            return folder
        raise ModelNotFoundError(
            "model %s version %s is not deployed with this service (found versions %s)"
            % (model_name, chosen, _versions(named))
        )
    # One model: AZUREML_MODEL_DIR already is <root>/<name>/<version>.
    parent = os.path.dirname(os.path.normpath(model_dir))
    if os.path.basename(parent) == model_name:
        if version is None or os.path.basename(os.path.normpath(model_dir)) == str(version):
            return model_dir
    raise ModelNotFoundError(
        "model %s%s is not deployed with this service (AZUREML_MODEL_DIR=%s)"
        % (model_name, "" if version is None else " version %s" % version, model_dir)
    )


class Model(object):
    """The registered-model handle of Azure ML v1, reduced to what runs inside a replica."""

    @staticmethod
    def get_model_path(model_name, version=None, _workspace=None):
        model_dir = os.environ.get("AZUREML_MODEL_DIR")
        if not model_dir:
            raise ModelNotFoundError("AZUREML_MODEL_DIR is not set")
        folder = _version_folder(model_dir, model_name, version)
        entries = [entry for entry in os.listdir(folder) if not entry.startswith(".")]
        if len(entries) == 1:
            return os.path.join(folder, entries[0])
        return folder
