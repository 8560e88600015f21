"""Field-by-field comparison of a draft against the published version (G2).

Both versions are turned into ordered {label: text} dictionaries (collections become one
line per row) so that every kind of field compares the same way; sessions are matched by
their Numéro CARIF, so added, removed and modified sessions are told apart."""

import difflib
from dataclasses import dataclass, field

from django.utils.html import escape
from django.utils.safestring import mark_safe

from ofeli.formations.models import FormationVersion, SessionVersion

FORMATION_FIELDS = [
    "intitule",
    "certification",
    "duree_cycle",
    "niveau_entree",
    "niveau_sortie",
    "objectif",
    "contenu",
    "resultats_attendus",
    "site_web",
]
SESSION_EXCLUDE = {"id", "formation_version", "session", "duree_totale"}
STRUCTURE_FIELDS = [
    "adresse",
    "complement",
    "code_postal",
    "ville",
    "code_insee",
    "latitude",
    "longitude",
    "telephone",
    "telephone_secondaire",
    "email",
    "site_web",
]
LONG_TEXT = 120


def _display(instance, field_name):
    model_field = instance._meta.get_field(field_name)
    if model_field.choices:
        value = getattr(instance, f"get_{field_name}_display")()
    else:
        value = getattr(instance, field_name)
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    if hasattr(value, "strftime"):
        return value.strftime("%d/%m/%Y") if not hasattr(value, "hour") else value.strftime("%H:%M")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _label(model, name):
    return str(model._meta.get_field(name).verbose_name).capitalize()


def formation_snapshot(version):
    return {_label(FormationVersion, name): _display(version, name) for name in FORMATION_FIELDS}


def session_snapshot(sv):
    data = {}
    for model_field in SessionVersion._meta.concrete_fields:
        if model_field.name in SESSION_EXCLUDE:
            continue
        data[_label(SessionVersion, model_field.name)] = _display(sv, model_field.name)
    data["Durée totale"] = str(sv.duree_totale or 0)
    data["Organismes formateurs"] = "\n".join(
        f"{t.structure}{' (principal)' if t.is_principal else ''}" for t in sv.trainers.all()
    )
    data["Lieux de formation"] = "\n".join(
        f"{p.lieu}{' (principal)' if p.is_principal else ''}" for p in sv.places.all()
    )
    data["Contacts"] = "\n".join(
        f"{c.contact} {c.get_type_contact_display()}{' (principal)' if c.is_principal else ''}"
        for c in sv.contacts.all()
    )
    data["Financements"] = "\n".join(
        f"{f.dispositif} / {f.financeur} / {f.get_etat_display()} / {f.nb_places or ''} places"
        f"{' / marché ' + f.numero_marche if f.numero_marche else ''}"
        for f in sv.financements.all()
    )
    data["Cycles de l'alternance"] = "\n".join(
        f"Année {c.annee} : {c.get_type_cycle_display()} / {c.get_type_alternance_display()}" for c in sv.cycles.all()
    )
    data["Blocs de compétences"] = "\n".join(
        f"{b.certification} : {b.get_type_validation_display()} ({', '.join(x.code for x in b.blocs.all())})"
        for b in sv.blocs.all()
    )
    data["Équipements"] = "\n".join(
        f"{e.get_type_equipement_display()} {e.cout_indicatif or ''} {e.commentaire}".strip()
        for e in sv.equipements.all()
    )
    data["Modalités de recrutement"] = "\n".join(
        f"{r.get_modalite_display()} {r.date.strftime('%d/%m/%Y') if r.date else ''} "
        f"{r.heure_debut.strftime('%H:%M') if r.heure_debut else ''}-{r.heure_fin.strftime('%H:%M') if r.heure_fin else ''}"
        f" {r.nb_places or ''} places".strip()
        for r in sv.recruitment_slots.all()
    )
    return data


def _session_queryset(version):
    if version is None:
        return []
    return version.sessions.select_related("session", "lieu_inscription", "contact_inscription").prefetch_related(
        "trainers__structure",
        "places__lieu",
        "contacts__contact",
        "financements__dispositif",
        "financements__financeur",
        "cycles",
        "blocs__certification",
        "blocs__blocs",
        "equipements",
        "recruitment_slots",
    )


@dataclass
class FieldChange:
    label: str
    old: str
    new: str

    @property
    def is_long(self):
        return len(self.old) > LONG_TEXT or len(self.new) > LONG_TEXT or "\n" in self.old + self.new

    @property
    def diff_html(self):
        """Word-level diff of long texts: removed words struck, added words marked."""
        old_words, new_words = self.old.split(" "), self.new.split(" ")
        out = []
        for op, a1, a2, b1, b2 in difflib.SequenceMatcher(None, old_words, new_words).get_opcodes():
            if op == "equal":
                out.append(escape(" ".join(old_words[a1:a2])))
            if op in ("delete", "replace"):
                out.append(f'<del class="diff-old">{escape(" ".join(old_words[a1:a2]))}</del>')
            if op in ("insert", "replace"):
                out.append(f'<ins class="diff-new">{escape(" ".join(new_words[b1:b2]))}</ins>')
        return mark_safe(" ".join(out).replace("\n", "<br>"))


@dataclass
class SessionChange:
    reference: str
    status: str  # "added", "removed", "modified", "unchanged"
    changes: list = field(default_factory=list)


def diff_dicts(old, new):
    labels = list(dict.fromkeys([*old.keys(), *new.keys()]))
    return [
        FieldChange(label, old.get(label, ""), new.get(label, ""))
        for label in labels
        if old.get(label, "") != new.get(label, "")
    ]


def compare_formations(published, draft):
    """Returns (formation field changes, [SessionChange]). ``published`` may be None for a
    new formation: everything then shows as added."""
    old = formation_snapshot(published) if published else {}
    fields = diff_dicts(old, formation_snapshot(draft))
    old_sessions = {sv.session.reference: session_snapshot(sv) for sv in _session_queryset(published)}
    new_sessions = {sv.session.reference: session_snapshot(sv) for sv in _session_queryset(draft)}
    sessions = []
    for ref in sorted(set(old_sessions) | set(new_sessions)):
        if ref not in old_sessions:
            sessions.append(SessionChange(ref, "added", diff_dicts({}, new_sessions[ref])))
        elif ref not in new_sessions:
            sessions.append(SessionChange(ref, "removed", diff_dicts(old_sessions[ref], {})))
        else:
            changes = diff_dicts(old_sessions[ref], new_sessions[ref])
            sessions.append(SessionChange(ref, "modified" if changes else "unchanged", changes))
    return fields, sessions


def structure_snapshot(version):
    if version is None:
        return {}
    from ofeli.structures.models import StructureVersion

    data = {_label(StructureVersion, name): _display(version, name) for name in STRUCTURE_FIELDS}
    data["Conventions / labels / qualités"] = ", ".join(str(label) for label in version.labels.all())
    return data


def compare_structures(published, draft):
    return diff_dicts(structure_snapshot(published), structure_snapshot(draft))
