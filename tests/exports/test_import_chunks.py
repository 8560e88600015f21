"""The LHEO import writes by chunks of formations (issue 9, « Speed »; SPEC H3a, H3b): a chunk
costs the same queries whatever the number of formations it holds, a file cut into chunks of
one formation is imported exactly as in one chunk, and a file byte for byte identical to one
already imported is not validated against the schema again (it was valid, it still is)."""

import re

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from lxml import etree

from ofeli.demo.generator import generate_offer
from ofeli.exports import importer
from ofeli.exports.importer import ImportRefused, import_lheo
from ofeli.exports.models import ImportedFormation, ImportRun
from ofeli.exports.validation import safe_parser
from ofeli.formations import models as fm
from ofeli.formations.enums import Source
from ofeli.referentials.loading import load_referentials
from ofeli.structures.models import Contact, Lieu, Structure
from ofeli.workflow.models import HistoryEntry
from tests.exports.builders import full_published_formation
from tests.exports.test_import_h3a import canonical_formations
from tests.exports.test_import_h3b import exported, fresh_database
from tests.factories import published_formation

pytestmark = pytest.mark.django_db
MODELS = [
    fm.Formation,
    fm.FormationVersion,
    fm.Session,
    fm.SessionVersion,
    *fm.SESSION_CHILD_MODELS,
    fm.SessionBlocs.blocs.through,
    Structure,
    Lieu,
    Contact,
    ImportedFormation,
    HistoryEntry,
]


def snapshot():
    """Row counts per table and the offer as exported: what an import wrote."""
    return {model.__name__: model.objects.count() for model in MODELS}, canonical_formations(exported("2.3"))


def test_h3b_an_import_by_chunks_of_one_formation_writes_what_one_chunk_writes(tmp_path, monkeypatch):
    """Organismes, places and contacts met in an earlier chunk are found again, not created twice."""
    load_referentials()
    generate_offer(structures=3, formations_per_structure=3, sessions_per_formation=3, seed=4)
    first = exported("2.3")
    path = tmp_path / "flux.xml"
    path.write_bytes(first)
    assert first.count(b"<formation ") >= 6

    fresh_database()
    monkeypatch.setattr(importer, "BATCH", 2)  # the « IN (...) » reads cut in pieces too
    report = import_lheo(path, "partner", chunk=1)
    assert report.errors == [] and report.formations_created == first.count(b"<formation ")
    by_ones = snapshot()
    assert by_ones[1] == canonical_formations(first)  # the round trip holds (H3b)

    fresh_database()
    monkeypatch.setattr(importer, "BATCH", 500)
    import_lheo(path, "partner")
    assert snapshot() == by_ones


def _copies(data, count):
    """The document with its formation ``count`` times, under other numéros each time."""
    root = etree.fromstring(data, safe_parser())
    offres = root.find("{*}offres")
    (formation,) = offres.findall("{*}formation")
    for n in range(1, count):
        copy = etree.fromstring(etree.tostring(formation), safe_parser())
        for el in copy.iter("{*}formation", "{*}action", "{*}session"):
            el.set("numero", f"{el.get('numero')}-{n}")
        offres.append(copy)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def _queries(path):
    """Queries of an import of ``path``, rolled back."""
    with transaction.atomic():
        with CaptureQueriesContext(connection) as queries:
            report = import_lheo(path, "region", chunk=100)
        transaction.set_rollback(True)
    return report, len(queries)


def test_h3a_a_chunk_costs_the_same_queries_whatever_its_number_of_formations(tmp_path):
    full_published_formation()
    data = exported("2.3")
    assert data.count(b"<formation ") == 1 and data.count(b"<session ") == 2
    one, many = tmp_path / "une.xml", tmp_path / "dix.xml"
    one.write_bytes(data)
    many.write_bytes(_copies(data, 10))

    report_one, queries_one = _queries(one)
    report_many, queries_many = _queries(many)
    assert (report_one.formations_created, report_many.formations_created) == (1, 10)
    assert (report_one.sessions_created, report_many.sessions_created) == (2, 20)
    assert queries_many == queries_one


class _Spy:
    """Records whether each pass over the file validated it."""

    def __init__(self, monkeypatch):
        self.calls = []
        real = importer.iter_formations

        def iter_formations(path, version, *, validate=False):
            self.calls.append(validate)
            return real(path, version, validate=validate)

        monkeypatch.setattr(importer, "iter_formations", iter_formations)


def test_h3a_a_file_identical_to_one_imported_is_not_validated_again(tmp_path, monkeypatch):
    published_formation(sessions=2)
    path = tmp_path / "flux.xml"
    path.write_bytes(exported("2.3"))
    spy = _Spy(monkeypatch)
    import_lheo(path, "region")
    report = import_lheo(path, "region")  # the same bytes: valid when first imported
    assert not report.changed and report.formations_unchanged == 1
    path.write_bytes(path.read_bytes() + b"\n")  # other bytes: validated again
    import_lheo(path, "region")
    ImportRun.objects.update(report={"schema_valide": "un autre schéma"})  # the schema changed since
    import_lheo(path, "region")
    assert spy.calls == [True, False, True, True]


def test_h3a_a_refused_file_is_validated_and_refused_every_time(tmp_path, monkeypatch):
    published_formation(sessions=1)
    data = exported("2.3")
    path = tmp_path / "invalide.xml"
    path.write_bytes(re.sub(rb"<intitule-formation>", b"<intitule-inconnu/><intitule-formation>", data, count=1))
    spy = _Spy(monkeypatch)
    for _ in range(2):
        with pytest.raises(ImportRefused, match="non valide"):
            import_lheo(path, "region")
    assert spy.calls == [True, True]
    assert not fm.Formation.objects.filter(source=Source.REGION).exists()
