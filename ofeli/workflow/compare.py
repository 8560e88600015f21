"""Field-by-field comparison of a draft against the published version (G2).

Both versions are turned into ordered {label: text} dictionaries (collections become one
line per row) so that every kind of field compares the same way; sessions are matched by
their Numéro CARIF, so added, removed and modified sessions are told apart."""

import difflib
import re
from dataclasses import dataclass, field
from functools import cached_property

from django.utils.html import escape
from django.utils.safestring import mark_safe

from ofeli.formations.enums import ModalitePedagogique, RythmeCode
from ofeli.formations.models import FormationVersion, SessionVersion

FORMATION_FIELDS = [
    "intitule",
    "certification",
    "duree_cycle",
    "niveau_entree",
    "niveau_sortie",
    "objectif_general",
    "objectif",
    "contenu",
    "resultats_attendus",
    "formacodes",
    "codes_rome",
    "site_web",
]
# Plain fields holding codes without model choices: their labels.
CODE_LABELS = {
    "rythme": dict(RythmeCode.choices),
    "modalites_pedagogiques": dict(ModalitePedagogique.choices),
}
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
    labels = CODE_LABELS.get(field_name)
    if labels:
        codes = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(str(code), str(code)) for code in codes)
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


_TOKENS = re.compile(r"\S+|\s+")


def _tokens(text):
    return _TOKENS.findall(text)


def _html(tokens):
    return escape("".join(tokens)).replace("\n", "<br>")


def _word_diff(old, new):
    """Word-level diff of two texts: (old with the removed words marked, new with the added
    words marked, the list of opcodes). Line breaks are kept; screen readers hear
    « retiré » / « ajouté » before each marked passage."""
    a, b = _tokens(old), _tokens(new)
    old_out, new_out = [], []
    opcodes = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    for op, a1, a2, b1, b2 in opcodes:
        if op == "equal":
            old_out.append(_html(a[a1:a2]))
            new_out.append(_html(b[b1:b2]))
            continue
        if a2 > a1:
            removed = _html(a[a1:a2])
            old_out.append(
                removed
                if not "".join(a[a1:a2]).strip()
                else f'<del class="diff-old"><span class="fr-sr-only">retiré : </span>{removed}</del>'
            )
        if b2 > b1:
            added = _html(b[b1:b2])
            new_out.append(
                added
                if not "".join(b[b1:b2]).strip()
                else f'<ins class="diff-new"><span class="fr-sr-only">ajouté : </span>{added}</ins>'
            )
    return mark_safe("".join(old_out)), mark_safe("".join(new_out)), opcodes


@dataclass
class FieldChange:
    label: str
    old: str
    new: str

    @property
    def status(self):
        """« added », « removed » or « modified »."""
        if not self.old:
            return "added"
        if not self.new:
            return "removed"
        return "modified"

    @property
    def is_long(self):
        return len(self.old) > LONG_TEXT or len(self.new) > LONG_TEXT or "\n" in self.old + self.new

    @cached_property
    def _diff(self):
        return _word_diff(self.old, self.new)

    @property
    def old_html(self):
        """The published text, removed words marked (long texts shown side by side)."""
        return self._diff[0]

    @property
    def new_html(self):
        """The new text, added words marked."""
        return self._diff[1]


SESSION_STATUS_LABELS = {
    "added": "Ajoutée",
    "removed": "Retirée",
    "modified": "Modifiée",
    "unchanged": "Inchangée",
}


@dataclass
class SessionChange:
    reference: str
    status: str  # "added", "removed", "modified", "unchanged"
    changes: list = field(default_factory=list)
    dates: str = ""

    @property
    def status_label(self):
        return SESSION_STATUS_LABELS[self.status]


def session_summary(sessions):
    """« 1 session ajoutée, 2 modifiées, 3 inchangées » for the review screen."""
    counts = dict.fromkeys(SESSION_STATUS_LABELS, 0)
    for s in sessions:
        counts[s.status] += 1
    parts = [
        f"{n} session{'s' if n > 1 else ''} {SESSION_STATUS_LABELS[status].lower()}{'s' if n > 1 else ''}"
        for status, n in counts.items()
        if n
    ]
    return ", ".join(parts) or "Aucune session"


def diff_dicts(old, new):
    labels = list(dict.fromkeys([*old.keys(), *new.keys()]))
    return [
        FieldChange(label, old.get(label, ""), new.get(label, ""))
        for label in labels
        if old.get(label, "") != new.get(label, "")
    ]


def compare_formations(published, draft, draft_content=None):
    """Returns (formation field changes, [SessionChange]). ``published`` may be None for a
    new formation: everything then shows as added. ``draft_content``, the draft's
    ``formation_content`` when the caller has it already, is not read again."""
    old = formation_content(published) if published else VersionContent({}, [])
    new = draft_content or formation_content(draft)
    fields = diff_dicts(old.fields, new.fields)
    old_sessions, new_sessions = dict(old.sessions), dict(new.sessions)
    sessions = []
    for ref in sorted(set(old_sessions) | set(new_sessions)):
        if ref not in old_sessions:
            change = SessionChange(ref, "added", diff_dicts({}, new_sessions[ref]))
        elif ref not in new_sessions:
            change = SessionChange(ref, "removed", diff_dicts(old_sessions[ref], {}))
        else:
            changes = diff_dicts(old_sessions[ref], new_sessions[ref])
            change = SessionChange(ref, "modified" if changes else "unchanged", changes)
        snapshot = new_sessions.get(ref) or old_sessions[ref]
        change.dates = _dates(snapshot)
        sessions.append(change)
    return fields, sessions


def _dates(snapshot):
    start, end = snapshot.get(_label(SessionVersion, "date_debut")), snapshot.get(_label(SessionVersion, "date_fin"))
    return f"du {start} au {end}" if start and end else ""


@dataclass
class VersionContent:
    """A version in full (every field, every session), for the « version complète » view."""

    fields: dict
    sessions: list  # [(reference, {label: value})]


def formation_content(version):
    sessions = [(sv.session.reference, session_snapshot(sv)) for sv in _session_queryset(version)]
    return VersionContent(formation_snapshot(version), sessions)


def structure_content(version):
    return VersionContent(structure_snapshot(version), [])


def structure_snapshot(version):
    if version is None:
        return {}
    from ofeli.structures.models import StructureVersion

    data = {_label(StructureVersion, name): _display(version, name) for name in STRUCTURE_FIELDS}
    data["Conventions / labels / qualités"] = ", ".join(str(label) for label in version.labels.all())
    return data


def compare_structures(published, draft):
    return diff_dicts(structure_snapshot(published), structure_snapshot(draft))
