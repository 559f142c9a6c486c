"""The async sampling runtime: frame sources, per-site scheduling, the sampler, the process
pool that runs `attendance.vision`, and the embedded runner. Imports `attendance`; `attendance`
(except its CLI) never imports `workers`."""
