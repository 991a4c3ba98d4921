"""skiff's `azureml` package: the parts of the Azure ML v1 SDK entry scripts use at scoring time.

A namespace package in the pkgutil style, like the `azureml/__init__.py` of Microsoft's own
azureml-* distributions, so that every `azureml.*` package the environment installs
(azureml-core, azureml-monitoring, ...) stays importable beside this one. The search order of
`azureml.__path__` decides who provides a sub-package:

1. this folder: only `azureml.contrib.services` (rawhttp, AMLRequest, AMLResponse), which is
   the scoring server's own interface and so always skiff's;
2. every `azureml` folder on sys.path, in sys.path order: what the environment installs;
3. skiff's fallbacks (`../fallbacks/azureml`): `azureml.core.model.Model.get_model_path`,
   used only when no installed package provides `azureml.core`.
"""

import os
from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
__path__.append(
    os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fallbacks", "azureml")
)
