"""Collectomics: museum collections, their people, labels, notebooks and photographs as one graph."""

__version__ = "0.1.0.dev0"
