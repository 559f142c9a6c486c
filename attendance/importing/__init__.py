"""Import of sites and rosters from organizers' spreadsheets: validate all, then write all."""
