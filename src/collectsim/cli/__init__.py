"""Command-line edge: the Hydra app, config schemas and result writing."""
