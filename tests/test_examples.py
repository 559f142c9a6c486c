"""The example files are reproducible, cover every province and read back as generated."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from attendance.examples.generate import SITE_HEADERS_VI, example_roster, example_sites
from attendance.importing.columns import ROSTER, SITES
from attendance.importing.table import read_table

EXAMPLES = Path(__file__).parents[1] / "configs" / "examples"


def test_same_seed_same_rows_other_seed_other_rows():
    assert example_sites(120, seed=1) == example_sites(120, seed=1)
    assert example_sites(120, seed=1) != example_sites(120, seed=2)
    sites = example_sites(70)
    assert example_roster(sites, seed=5) == example_roster(sites, seed=5)


def test_sites_cover_all_provinces_with_unique_codes():
    sites = example_sites(900)
    assert len({site["province"] for site in sites}) == 63
    assert len({site["site_code"] for site in sites}) == 900
    assert len({(site["district"], site["commune"]) for site in sites if site["commune"]}) == len(
        [site for site in sites if site["commune"]]
    )


def test_roster_scales_to_the_requested_size_with_nfc_names():
    people = example_roster(example_sites(900), people=150_000)
    assert 140_000 < len(people) < 160_000
    assert len({row["person_code"] for row in people}) == len(people)
    assert all(unicodedata.is_normalized("NFC", row["full_name"]) for row in people[:2000])


def test_committed_files_match_the_generator():
    """configs/examples is `attendance examples write` output; regenerate after changing it."""
    sites = example_sites()
    for name in ("sites.xlsx", "sites.csv"):
        table = read_table(EXAMPLES / name, SITES)
        assert [cells for _, cells in table.rows] == sites, name
    assert (
        read_table(EXAMPLES / "sites.xlsx", SITES).headers["site_code"]
        == SITE_HEADERS_VI["site_code"]
    )
    roster = read_table(EXAMPLES / "roster.xlsx", ROSTER)
    first_provinces = {site["site_code"] for site in sites if site["site_code"][2:4] <= "03"}
    assert {cells["site_code"] for _, cells in roster.rows} == first_provinces
