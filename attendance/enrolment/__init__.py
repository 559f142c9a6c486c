"""Roster photos to face encodings: finding and reading the photos, enrolling them."""
