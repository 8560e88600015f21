"""Every LHEO document is valid against both official schemas on realistic data: the demo
data (``load_demo``) and a generated offer (``generate_offer``); the threaded reading of
large exports gives the same document; flows and round trip work on that data too."""

import io

import pytest
from django.core.management import call_command

from ofeli.exports.flows import flow_files, publish_flow
from ofeli.exports.importer import import_lheo
from ofeli.exports.lheo import write_offer
from ofeli.exports.models import FlowStatus
from ofeli.exports.validation import validate_lheo
from ofeli.formations.enums import Source
from ofeli.formations.models import Formation
from tests.exports.test_import import canonical

VERSIONS = ["2.2", "2.3"]


def export(version, **kwargs):
    stream = io.BytesIO()
    stats = write_offer(stream, version, **kwargs)
    return stream.getvalue(), stats


def generate(structures=4, formations=3, sessions=3, seed=11):
    call_command(
        "generate_offer",
        f"--structures={structures}",
        f"--formations={formations}",
        f"--sessions-per-formation={sessions}",
        f"--seed={seed}",
        "--today=2026-11-26",
        stdout=io.StringIO(),
    )


@pytest.mark.django_db
@pytest.mark.parametrize("version", VERSIONS)
def test_h2_demo_data_exports_are_valid(version, settings, tmp_path):
    settings.LHEO_FLOWS_DIR = tmp_path
    call_command("load_demo", stdout=io.StringIO())
    data, stats = export(version)
    assert validate_lheo(io.BytesIO(data), version) == []
    assert stats.formations > 0 and stats.sessions > 0
    run = publish_flow(version)
    assert run.status == FlowStatus.DONE, run.error
    assert validate_lheo(str(flow_files(run)["full"]), version) == []


@pytest.mark.django_db
@pytest.mark.parametrize("version", VERSIONS)
def test_h2_generated_offer_exports_are_valid(version):
    generate()
    data, stats = export(version, chunk_size=5)
    assert validate_lheo(io.BytesIO(data), version) == []
    assert stats.sessions >= 20
    whole, _ = export(version)
    assert whole == data  # chunking changes nothing


@pytest.mark.django_db
def test_h3_round_trip_on_generated_and_demo_offer(tmp_path):
    generate(structures=2)
    call_command("load_demo", stdout=io.StringIO())
    path = tmp_path / "offre.xml"
    write_offer(path, "2.3")
    report = import_lheo(path, "partner")
    assert report.formations_created == path.read_bytes().count(b"<formation ")
    again, _ = export("2.3", formations=Formation.objects.filter(source=Source.PARTNER))
    assert validate_lheo(io.BytesIO(again), "2.3") == []
    assert canonical(again) == canonical(path.read_bytes()), _diff(canonical(path.read_bytes()), canonical(again))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("version", VERSIONS)
def test_h2_reading_the_next_chunk_in_a_thread_gives_the_same_document(version):
    generate(structures=3)
    plain, _ = export(version, chunk_size=4, prefetch=False)
    threaded, stats = export(version, chunk_size=4, prefetch=True)
    assert threaded == plain
    assert validate_lheo(io.BytesIO(threaded), version) == []


@pytest.mark.django_db(transaction=True)
def test_h2_a_crash_while_reading_ahead_is_raised_and_writes_nothing(monkeypatch, tmp_path):
    from ofeli.exports import lheo

    generate(structures=2)
    original = lheo.ChunkReader.load
    calls = []

    def crash(self, formations):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("connexion perdue")
        return original(self, formations)

    monkeypatch.setattr(lheo.ChunkReader, "load", crash)
    target = tmp_path / "offre.xml"
    with pytest.raises(RuntimeError, match="connexion perdue"):
        write_offer(target, "2.3", chunk_size=2, prefetch=True)
    assert not target.exists()


def _diff(a, b):  # pragma: no cover - debugging help
    import difflib

    return "\n".join(
        list(
            difflib.unified_diff(
                a.decode().replace("><", ">\n<").splitlines(),
                b.decode().replace("><", ">\n<").splitlines(),
                lineterm="",
            )
        )[:60]
    )
