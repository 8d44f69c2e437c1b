"""The bundled sample: it tells the programme's story, and the generator rebuilds it exactly."""

from __future__ import annotations

from pathlib import Path

from conftest import PROJECT, shared_or_skip

from covgap.analysis import assess_villages
from covgap.io import load_towers, load_villages
from covgap.sample import SampleSpec, build_sample, towers_csv, villages_geojson
from covgap.scenario import load_scenario

VILLAGES = PROJECT / "data" / "villages" / "villages.geojson"
TOWERS = PROJECT / "data" / "towers" / "towers.csv"


def test_committed_sample_reports_238_and_117() -> None:
    sc = load_scenario(PROJECT / "scenarios" / "vietnam_2025.toml")
    villages = load_villages(VILLAGES)
    towers = load_towers(TOWERS)
    assert not villages.rejects and not towers.rejects
    groups = assess_villages(villages.gdf, towers.gdf, sc.analysis).villages["group"]
    counts = groups.value_counts().to_dict()
    assert counts["low_signal_powered"] == 238
    assert counts["low_signal_unpowered"] == 117
    assert len(groups) == 3000
    assert villages.gdf["village_id"].str.fullmatch(r"\d{8}").all()  # digit IDs stay text


def test_committed_sample_is_small() -> None:
    assert VILLAGES.stat().st_size + TOWERS.stat().st_size < 4_000_000


def test_generator_rebuilds_the_committed_files_byte_for_byte() -> None:
    shared = shared_or_skip("data")
    sc = load_scenario(PROJECT / "scenarios" / "vietnam_2025.toml")
    result = build_sample(Path(shared), spec=SampleSpec(), analysis=sc.analysis)
    assert villages_geojson(result.villages) == VILLAGES.read_text(encoding="utf-8")
    assert towers_csv(result.towers) == TOWERS.read_text(encoding="utf-8")


def test_sample_villages_sit_in_their_communes_province() -> None:
    shared = shared_or_skip("data", "vn_communes.csv")
    import pandas as pd

    communes = pd.read_csv(shared, dtype=str, keep_default_na=False).set_index("commune_code")
    v = load_villages(VILLAGES).gdf
    assert (
        communes.loc[v["commune_code"], "province_code"].to_numpy() == v["province_code"].to_numpy()
    ).all()
    assert (
        communes.loc[v["commune_code"], "commune_full_name"].to_numpy() == v["commune"].to_numpy()
    ).all()
