"""A stand-in for Microsoft's inference-schema package (github.com/Azure/InferenceSchema), which
this machine's package index does not carry. Same module paths and public functions, written
for skiff's tests: the scoring server uses only schema_util's public API, so what passes here
passes with the real package installed in a replica's environment."""
