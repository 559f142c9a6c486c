"""Frame sources: one small async interface over every kind of site stream."""
