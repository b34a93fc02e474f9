"""The live benchmark's report: the floor, the bound of our own processing, and which binds."""

from __future__ import annotations

from benchmarks import bench_live


def test_the_report_sets_the_wall_time_beside_the_floor_and_says_what_binds() -> None:
    runs = [
        bench_live.LiveRun("no API key", 20.0, 16.0, requests=45, esearches=5,
                           interval=1 / 3, most_in_flight=2),
        bench_live.LiveRun("with API key", 12.0, 8.0, requests=45, esearches=5,
                           interval=0.1, most_in_flight=4),
    ]  # fmt: skip
    text = bench_live.report(20000, 500, 0.3, runs, {"load": 6.0, "post": 4.0, "total": 10.0})
    no_key, with_key = (line.split() for line in text.splitlines() if "API key " in line)
    assert no_key[3:9] == ["45", "15.0s", "20.0s", "1.33x", "15.0s", "1.33x"]
    assert no_key[-3:] == ["the", "rate", "limit"]
    assert with_key[3:9] == ["45", "4.5s", "12.0s", "2.67x", "10.0s", "1.20x"]
    assert with_key[-2:] == ["our", "processing"]
