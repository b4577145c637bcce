"""Linking name-string agents to people in Wikidata and ORCID: clients, stand-ins, matching, review."""
