"""azureml.core as far as entry scripts need it inside a replica: Model.get_model_path."""

from azureml.core.model import Model

__all__ = ["Model"]
