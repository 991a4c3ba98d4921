"""Stands in for an installed azureml-core (an implicit namespace: no azureml/__init__.py)."""
