"""Parameter types of the inference-schema stand-in."""
