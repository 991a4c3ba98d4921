"""The base every parameter type extends: a sample, a converter and a swagger schema."""


class AbstractParameterType(object):
    def __init__(self, sample_input):
        self.sample_input = sample_input
        self.sample_data_type = type(sample_input)

    def deserialize_input(self, input_data):
        raise NotImplementedError

    def input_to_swagger(self):
        raise NotImplementedError
