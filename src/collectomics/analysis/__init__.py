"""What the graph says once read as a whole: the one identity rule, collector networks, itineraries, date inferences, counts, and the caches they keep."""
