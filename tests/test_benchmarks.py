"""benchmarks/ keeps working: tiny sizes, the real code paths, no timing asserted
(speed is measured by ``python -m benchmarks``, never judged in tests)."""
from __future__ import annotations

import sqlite3

import pytest

from benchmarks import storage, throughput
from benchmarks.common import alternate, spread
from benchmarks.reminders import seed_due, seed_pending


async def test_throughput_and_storage_figures_come_from_real_work(tmp_path):
    figures = {f.name: f for f in await throughput.run(tmp_path, 3)}
    # run() raises unless all three buyers' disputes reached the summary in the replay.
    assert figures["1. updates fed (users × intake)"].value.endswith("(3 users)")
    assert {"1. throughput ratio full/bare", "1. full stack p99 per update"} <= set(figures)

    stored = {f.name: f for f in await storage.bytes_per_dispute(tmp_path, tmp_path / "throughput.db")}
    note = stored["4. database bytes per completed dispute"].note
    assert note.startswith("3 disputes with") and "reminders" in note

    (disputes,) = await storage.disputes_command(tmp_path, 3, repeats=2)
    assert disputes.name.startswith("4. /disputes, buyer with 3 disputes")


async def test_the_grown_database_is_compared_in_alternating_chunks(tmp_path):
    await seed_pending(tmp_path / "seeded.db", 40)
    (figure,) = await throughput.grown_rounds(tmp_path, tmp_path / "seeded.db", 2, rounds=2, chunk=5)
    # grown_chunks() raises unless both buyers reached the summary on each side.
    assert figure.name.startswith("1. grown (10 disputes, 40 reminders, 100,000 update ids)")
    assert "alternating chunks of 5" in figure.name and figure.value.startswith("min / median / max ")


async def test_alternate_flips_the_order_every_round_and_keeps_each_sides_results():
    order: list[str] = []

    def side(name: str):
        async def run(i: int) -> str:
            order.append(name)
            return f"{name}{i}"
        return run

    samples = await alternate({"a": side("a"), "b": side("b"), "c": side("c")}, 3)
    assert order == ["a", "b", "c", "c", "b", "a", "a", "b", "c"]
    assert samples == {"a": ["a0", "a1", "a2"], "b": ["b0", "b1", "b2"], "c": ["c0", "c1", "c2"]}
    assert spread([3.0, 1.0, 2.0, 10.0]) == "1.000 / 2.500 / 10.000"


async def test_memory_is_measured_per_idle_buyer_for_the_bot_and_the_peer(tmp_path):
    from benchmarks import memory
    figures = {f.name: f for f in await memory.run(tmp_path, 3, 6, 60, rounds=1)}
    # Each worker raises unless its replay took every buyer through (the bot: to the summary).
    assert figures["2. buyers at the two checkpoints"].value == "3 → 6"
    assert figures["2. bot: per-buyer structure entries between the checkpoints"].ok is True
    assert figures["2. bot: per-user structures still in memory"].value == "none"
    peer = figures["2. peer: allocated blocks / live objects / FSM records per idle buyer"].value
    assert peer.endswith("FSM records +1.00 / +1.00 / +1.00")  # MemoryStorage keeps a record per buyer


async def test_the_answer_latency_run_measures_both_modes(tmp_path):
    from benchmarks import latency
    figures = {f.name: f for f in await latency.run(tmp_path, rounds=2, latency=0.02, think=0.05)}
    assert any(name.startswith("6. answer latency, taps, before") for name in figures)
    assert any(name.startswith("6. answer latency, whole intake (en + ru), after") for name in figures)


async def test_seeded_reminders_are_shaped_as_the_bot_plans_them(tmp_path):
    await seed_pending(tmp_path / "pending.db", 10)
    await seed_due(tmp_path / "due.db", 4)
    with sqlite3.connect(tmp_path / "pending.db") as db:
        assert db.execute("SELECT COUNT(*), COUNT(DISTINCT dispute_id) FROM reminders"
                          " WHERE status = 'pending'").fetchone() == (10, 3)
    with sqlite3.connect(tmp_path / "due.db") as db:
        kinds = db.execute("SELECT kind, COUNT(*) FROM reminders GROUP BY kind").fetchall()
    assert kinds == [("seller_window", 8)]


def test_the_dossier_figure_builds_a_real_two_part_dossier():
    from benchmarks import dossier

    build, size, picture = dossier.run(photos=2, messages=3, repeats=1)
    assert build.name == "5. dossier build, 2 photos + 3 seller messages, ru + en" and build.value.endswith(" per photo)")
    assert size.ok is True and size.value.endswith("MiB")
    assert picture.name.startswith("5. timeline picture, ") and picture.value.endswith("(min / median / max of 1)")


@pytest.mark.postgres
async def test_the_postgresql_latency_figure_runs_the_intake_on_both_backends(tmp_path, postgres_url, monkeypatch):
    from benchmarks import workers
    monkeypatch.setattr(workers, "SERVER", postgres_url)
    (figure,) = await workers.latency(tmp_path, buyers=1, rounds=1)
    # latency() raises unless the buyer's dispute reached the currency on each backend.
    assert figure.name.startswith("7. per-update latency PostgreSQL/SQLite") and "7 updates each" in figure.note
