"""What auditors rely on: the chain's verification, signed bundles, per-site logs (and their
PDF), evidence images."""
