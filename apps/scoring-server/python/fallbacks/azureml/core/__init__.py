"""Fallback azureml.core for entry scripts (used when no azureml-core is installed): Model.get_model_path."""

from azureml.core.model import Model

__all__ = ["Model"]
