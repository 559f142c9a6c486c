"""From samples to results: estimates, reconciliation with rosters, presence, headcounts,
corrections, make-up lists and their spreadsheets."""
