"""H3b: export → import into a fresh database → export gives the same document (canonical
XML, stamps aside), in LHEO 2.2 and 2.3, on the demo data and on a generated offer."""

import io

import pytest
from django.core.management import call_command
from django.db import connection

from ofeli.demo.generator import generate_offer
from ofeli.demo.loader import load_demo
from ofeli.exports.importer import import_lheo
from ofeli.exports.lheo import write_offer
from ofeli.exports.validation import validate_lheo
from ofeli.formations.models import Formation
from ofeli.referentials.loading import load_referentials
from tests.exports.test_import_h3a import canonical_formations

pytestmark = pytest.mark.django_db


def exported(version):
    stream = io.BytesIO()
    write_offer(stream, version)
    return stream.getvalue()


def fresh_database():
    """A new installation: every table emptied, then the referentials loaded."""
    if connection.vendor == "postgresql":  # TRUNCATE waits for no deferred check of the test's transaction
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    call_command("flush", interactive=False, verbosity=0)
    load_referentials()
    assert not Formation.objects.exists()


def round_trip(tmp_path, version, source):
    first = exported(version)
    assert validate_lheo(io.BytesIO(first), version) == []
    path = tmp_path / f"flux-{version}.xml"
    path.write_bytes(first)
    fresh_database()
    report = import_lheo(path, source)
    assert report.errors == []
    assert report.formations_created == first.count(b"<formation ")
    again = exported(version)
    assert validate_lheo(io.BytesIO(again), version) == []
    return first, again


@pytest.mark.parametrize("version", ["2.2", "2.3"])
def test_h3b_demo_offer_round_trip_on_a_fresh_database(tmp_path, version):
    load_demo()
    first, again = round_trip(tmp_path, version, "region")
    assert canonical_formations(again) == canonical_formations(first)


@pytest.mark.parametrize("version", ["2.2", "2.3"])
def test_h3b_generated_offer_round_trip_on_a_fresh_database(tmp_path, version):
    load_referentials()
    generate_offer(structures=4, formations_per_structure=2, sessions_per_formation=3, seed=9)
    first, again = round_trip(tmp_path, version, "partner")
    assert canonical_formations(again) == canonical_formations(first)
