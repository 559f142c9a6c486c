"""Cluster mode: arq jobs on Redis, one elected scheduler, any number of worker processes."""
