"""Inference backends and the catalog of models. Never imports Qt."""
