"""Pure mapping of input records (dicts of strings) to RDF triples; see README.md for the rule."""
