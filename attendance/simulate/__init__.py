"""Synthetic site cameras with ground truth, for the demo, tests and benchmarks.

`occupancy` decides who is in each site's hall at every moment of a session (pure, seeded);
`cameras` draws and encodes a site's frame for one state; `server` serves many sites over HTTP
(snapshots, MJPEG, MCU composites, truth, injected faults); `video` writes one site as a clip.
"""
