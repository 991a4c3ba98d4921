"""Stands in for an installed azureml-monitoring distribution (not skiff's shim)."""


class ModelDataCollector(object):
    def __init__(self, model_name, designation="inputs", feature_names=None):
        self.model_name = model_name
        self.designation = designation
        self.feature_names = feature_names or []

    def collect(self, input_data, user_correlation_id=""):
        return "%s/%s/%d" % (self.model_name, self.designation, len(input_data))
