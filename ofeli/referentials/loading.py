"""Loading of the reference data shipped in ``data/`` (``manage.py load_referentials``).

Every table is synchronised on its natural key (code; kind + code for labels; certification
+ code for blocs): missing rows are created, rows whose values differ from the files are
updated, other rows are left alone. So the command can run again at any time without
duplicating anything, and it never deletes a row that other data may use. It runs in a
fixed, small number of queries (bulk create / bulk update), so ``load_demo`` can call it
every time.

Files (JSON, UTF-8):
- ``structure_types.json`` / ``structure_states.json``: types (F1610...) and states
  (BRO, DIO, ARC) of structures;
- ``financeurs.json``: financeurs with their LHEO code (``dict-financeurs``);
- ``dispositifs.json``: the guide's F8 table (who enters each scheme: OF or Carif);
- ``labels.json``: conventions / labels and quality certifications (C7);
- ``certifications.json``: certifications (RNCP / RS, Certifinfo) with their blocs de
  compétences; ``replaced_by`` names the Certifinfo code of the newer certification.
"""

import datetime
import json
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from .models import (
    BlocCompetences,
    Certification,
    Dispositif,
    Financeur,
    Label,
    StructureState,
    StructureType,
)

DATA_DIR = Path(__file__).parent / "data"


@dataclass
class LoadResult:
    """Per table, in loading order: (created, updated, unchanged) counts."""

    counts: dict = field(default_factory=dict)

    def lines(self):
        return [
            f"{name} : {created} créé(s), {updated} mis à jour, {unchanged} inchangé(s)"
            for name, (created, updated, unchanged) in self.counts.items()
        ]


def read_data(name):
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


def _date(value):
    return datetime.date.fromisoformat(value) if value else None


def sync(model, rows, key_fields, queryset=None):
    """Create or update ``model`` rows from ``rows`` (dicts of field attnames), matched on
    ``key_fields`` among ``queryset`` (default: every row). Returns ({key: instance},
    (created, updated, unchanged))."""
    queryset = model.objects.all() if queryset is None else queryset
    existing = {tuple(getattr(obj, f) for f in key_fields): obj for obj in queryset}
    to_create, to_update, changed_fields = [], [], set()
    unchanged = 0
    for values in rows:
        key = tuple(values[f] for f in key_fields)
        obj = existing.get(key)
        if obj is None:
            obj = model(**values)
            to_create.append(obj)
            existing[key] = obj
            continue
        changed = [name for name, value in values.items() if getattr(obj, name) != value]
        if not changed:
            unchanged += 1
            continue
        for name in changed:
            setattr(obj, name, values[name])
        changed_fields.update(changed)
        to_update.append(obj)
    if to_create:
        model.objects.bulk_create(to_create)
    if to_update:
        model.objects.bulk_update(to_update, sorted(changed_fields))
    if to_create and any(obj.pk is None for obj in to_create):  # backends that return no ids
        existing = {tuple(getattr(obj, f) for f in key_fields): obj for obj in queryset.all()}
    return existing, (len(to_create), len(to_update), unchanged)


def load_structure_types(result):
    rows = [{"code": r["code"], "libelle": r["libelle"]} for r in read_data("structure_types.json")]
    _, result.counts["Types de structure"] = sync(StructureType, rows, ["code"])


def load_structure_states(result):
    rows = [
        {"code": r["code"], "libelle": r["libelle"], "is_diffused": r["is_diffused"]}
        for r in read_data("structure_states.json")
    ]
    _, result.counts["États de structure"] = sync(StructureState, rows, ["code"])


def load_financeurs(result):
    rows = [
        {"code": r["code"], "libelle": r["libelle"], "lheo_code": r["lheo_code"], "is_public": r["is_public"]}
        for r in read_data("financeurs.json")
    ]
    financeurs, result.counts["Financeurs"] = sync(Financeur, rows, ["code"])
    return {code: obj for (code,), obj in financeurs.items()}


def load_dispositifs(result, financeurs):
    rows = [
        {
            "code": r["code"],
            "libelle": r["libelle"],
            "financeur_id": financeurs[r["financeur"]].pk,
            "entered_by": r["entered_by"],
            "training_kind": r["training_kind"],
            "is_public_funds": r["is_public_funds"],
            "publics_vises": r.get("publics_vises", ""),
            "is_apprenticeship": r.get("is_apprenticeship", False),
            "is_active": r.get("is_active", True),
        }
        for r in read_data("dispositifs.json")
    ]
    _, result.counts["Dispositifs"] = sync(Dispositif, rows, ["code"])


def load_labels(result):
    rows = [{"kind": r["kind"], "code": r["code"], "libelle": r["libelle"]} for r in read_data("labels.json")]
    _, result.counts["Conventions, labels et qualités"] = sync(Label, rows, ["kind", "code"])


CERTIFICATION_TEXT_FIELDS = [
    "intitule", "sigle", "code_rncp", "code_rs", "code_scolarite", "valideurs", "niveau_sortie", "etat",
    "objectif", "contenu", "codes_nsf", "codes_rome", "formacodes",
]  # fmt: skip


def certification_values(row):
    values = {"code_certifinfo": row["code_certifinfo"]}
    values.update({name: row.get(name) or "" for name in CERTIFICATION_TEXT_FIELDS})
    values["acces_apprentissage"] = bool(row.get("acces_apprentissage"))
    values["premiere_session"] = row.get("premiere_session")
    values["derniere_session"] = row.get("derniere_session")
    values["date_fin_enregistrement"] = _date(row.get("date_fin_enregistrement"))
    values["date_effet"] = _date(row.get("date_effet"))
    # Certification.save() computes search_text; bulk writes do not call save().
    values["search_text"] = Certification.search_text_of(values)
    return values


def load_certifications(result):
    rows = read_data("certifications.json")["certifications"]
    codes = [row["code_certifinfo"] for row in rows]
    certifications, result.counts["Certifications"] = sync(
        Certification,
        [certification_values(row) for row in rows],
        ["code_certifinfo"],
        Certification.objects.filter(code_certifinfo__in=codes),
    )
    by_code = {code: obj for (code,), obj in certifications.items()}
    # A certification may be replaced by one listed after it: a second, small pass.
    replaced = []
    for row in rows:
        cert = by_code[row["code_certifinfo"]]
        replacement_id = by_code[row["replaced_by"]].pk if row.get("replaced_by") else None
        if cert.replaced_by_id != replacement_id:
            cert.replaced_by_id = replacement_id
            replaced.append(cert)
    if replaced:
        Certification.objects.bulk_update(replaced, ["replaced_by"])
    blocs = [
        {"certification_id": by_code[row["code_certifinfo"]].pk, "code": code, "libelle": libelle}
        for row in rows
        for code, libelle in row.get("blocs", [])
    ]
    _, result.counts["Blocs de compétences"] = sync(
        BlocCompetences,
        blocs,
        ["certification_id", "code"],
        BlocCompetences.objects.filter(certification__code_certifinfo__in=codes),
    )


@transaction.atomic
def load_referentials():
    """Load every reference table; returns a ``LoadResult``."""
    result = LoadResult()
    load_structure_types(result)
    load_structure_states(result)
    financeurs = load_financeurs(result)
    load_dispositifs(result, financeurs)
    load_labels(result)
    load_certifications(result)
    return result
