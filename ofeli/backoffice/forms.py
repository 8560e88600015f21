"""Forms of the Carif back office. Every form derives from ``ofeli.core.forms`` (DSFR markup,
errors tied to their field, pasted text cleaned)."""

import re

from django import forms
from django.conf import settings
from django.forms import modelform_factory

from ofeli.core import forms as base
from ofeli.core.forms import SafeModelChoiceField, SafeModelMultipleChoiceField
from ofeli.core.identifiers import compact, validate_nda, validate_siret, validate_uai
from ofeli.core.text import clean_pasted_text
from ofeli.referentials import lheo
from ofeli.referentials.models import Dispositif, Financeur, Label, StructureState, StructureType
from ofeli.structures.models import Structure
from ofeli.users.enums import Role
from ofeli.users.models import User
from ofeli.workflow.enums import ChangeKind, ChangeStatus, HistoryAction

from .queries import descendant_ids

REFERENCE_SPLIT = re.compile(r"[\s,;]+")


class ReferencesField(forms.CharField):
    """References separated by spaces, commas, semicolons or line breaks: a list of
    upper-case references."""

    def to_python(self, value):
        text = clean_pasted_text(super().to_python(value))
        return [ref.upper() for ref in REFERENCE_SPLIT.split(text) if ref]

    def has_changed(self, initial, data):
        return self.to_python(data) != self.to_python(initial)


class StructuresField(ReferencesField):
    """The structures named by a list of references; an unknown reference is an error."""

    def clean(self, value):
        references = super().clean(value)
        if not references:
            return []
        found = {s.reference: s for s in Structure.objects.filter(reference__in=references)}
        missing = [ref for ref in references if ref not in found]
        if missing:
            raise forms.ValidationError(f"Référence(s) inconnue(s) : {', '.join(missing)}.")
        return list(found.values())


def departement_choices():
    return [("", "Tous")] + [(d, d) for d in settings.REGION_DEPARTEMENTS] + [("hors", "Hors région")]


def staff_choices():
    staff = User.objects.filter(role__in=[Role.GESTIONNAIRE, Role.SUPERVISEUR], is_active=True).order_by(
        "last_name", "first_name"
    )
    return [("", "Tous"), ("moi", "Moi"), ("aucun", "Non assignée")] + [(str(u.pk), str(u)) for u in staff]


# --- validation queue ------------------------------------------------------------------------


class QueueFilterForm(base.Form):
    """Filters of « Demandes à valider » (G2). Always valid: an unknown value is ignored."""

    etat = forms.ChoiceField(
        label="État",
        required=False,
        choices=[(s.value, s.label) for s in ChangeStatus],
        initial=ChangeStatus.SUBMITTED,
    )
    objet = forms.ChoiceField(label="Objet", required=False, choices=[("", "Tous"), *ChangeKind.choices])
    structure = forms.CharField(
        label="Structure", required=False, help_text="Référence, SIRET ou partie du nom", max_length=100
    )
    departement = forms.ChoiceField(label="Département", required=False, choices=departement_choices)
    dispositif = forms.ChoiceField(label="Dispositif", required=False)
    gestionnaire = forms.ChoiceField(label="Gestionnaire", required=False)
    retard = forms.BooleanField(label="Hors délai uniquement (48 heures ouvrées dépassées)", required=False)
    tri = forms.ChoiceField(
        label="Ordre",
        required=False,
        choices=[("anciennes", "Les plus anciennes d'abord"), ("recentes", "Les plus récentes d'abord")],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Choices read once (one query each), for validation and display alike.
        self.fields["dispositif"].choices = [("", "Tous")] + [
            (str(d.pk), str(d)) for d in Dispositif.objects.order_by("code")
        ]
        self.fields["gestionnaire"].choices = staff_choices()

    def values(self):
        """Cleaned values, or defaults for what is missing or wrong."""
        data = {"etat": ChangeStatus.SUBMITTED, "tri": "anciennes"}
        if self.is_bound:
            self.is_valid()
            for name, value in getattr(self, "cleaned_data", {}).items():
                if value not in (None, ""):
                    data[name] = value
        return data


class DecisionForm(base.Form):
    comment = forms.CharField(
        label="Commentaire CARIF",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=(
            "Obligatoire pour « En attente complément d'information » et pour un refus ; "
            "envoyé au demandeur par la messagerie et par e-mail."
        ),
    )


# --- structures ---------------------------------------------------------------------------------


class StructureFilterForm(base.Form):
    """Choosing structures: the list screen, and the recipients of a message (I1)."""

    q = forms.CharField(label="Recherche", required=False, help_text="Référence, SIRET, NDA ou partie du nom")
    type = SafeModelChoiceField(
        label="Type de structure", required=False, queryset=StructureType.objects.all(), empty_label="Tous"
    )
    etat = SafeModelChoiceField(
        label="État de la structure", required=False, queryset=StructureState.objects.all(), empty_label="Tous"
    )
    departement = forms.ChoiceField(label="Département", required=False, choices=departement_choices)
    dispositif = SafeModelChoiceField(
        label="Dispositif de leurs sessions publiées",
        required=False,
        queryset=Dispositif.objects.order_by("code"),
        empty_label="Tous",
    )
    references = ReferencesField(
        label="Liste de références",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Références de structures séparées par des espaces, virgules ou retours à la ligne (ex. 23470P 00079P)",
    )

    def values(self):
        if not self.is_bound or not self.is_valid():
            return {}
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "", [])}


class StructureIdentityForm(base.ModelForm):
    """Identity and organisation of a structure, edited by the Carif only (C3, C5)."""

    siret = forms.CharField(label="SIRET", required=False, max_length=20, help_text="14 chiffres")
    nda = forms.CharField(
        label="N° déclaration d'activité",
        required=False,
        max_length=20,
        help_text="11 chiffres : code de la région de déclaration puis département",
    )
    uai = forms.CharField(
        label="UAI", required=False, max_length=10, help_text="7 caractères et une lettre de contrôle"
    )
    parent_reference = forms.CharField(
        label="Structure parente",
        required=False,
        max_length=10,
        help_text="Référence de la structure « mère » (ex. 00079P) ; vide : aucune",
    )
    attach = StructuresField(
        label="Rattacher des structures",
        required=False,
        help_text="Références des structures « enfants » à rattacher, séparées par des espaces ou des virgules",
    )
    detach = SafeModelMultipleChoiceField(
        label="Détacher des structures rattachées",
        required=False,
        queryset=Structure.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Structure
        fields = ["siret", "nda", "uai", "raison_sociale", "nom", "type", "etat", "reseau"]
        labels = {
            "raison_sociale": "Raison sociale",
            "nom": "Nom",
            "type": "Type de structure",
            "etat": "État de la structure",
            "reseau": "Réseau",
        }
        help_texts = {"etat": "Seules les structures dans un état « diffusé » publient leur offre."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        structure = self.instance
        self.fields["detach"].queryset = structure.children.order_by("nom")
        self.fields["detach"].label_from_instance = lambda s: f"{s.reference} - {s.nom}"
        if not self.is_bound and structure.parent_id:
            self.initial["parent_reference"] = structure.parent.reference
        self.fields["type"].required = True
        self.fields["etat"].required = True

    def clean_siret(self):
        value = compact(self.cleaned_data["siret"])
        if not value:
            return ""
        value = validate_siret(value)
        other = Structure.objects.filter(siret=value).exclude(pk=self.instance.pk).first()
        if other:
            raise forms.ValidationError(f"Ce SIRET est déjà celui de la structure {other}.")
        return value

    def clean_nda(self):
        value = compact(self.cleaned_data["nda"])
        return validate_nda(value) if value else ""

    def clean_uai(self):
        value = compact(self.cleaned_data["uai"]).upper()
        return validate_uai(value) if value else ""

    def clean_parent_reference(self):
        reference = compact(self.cleaned_data["parent_reference"]).upper()
        if not reference:
            return None
        parent = Structure.objects.filter(reference=reference).first()
        if parent is None:
            raise forms.ValidationError(f"Aucune structure ne porte la référence {reference}.")
        if parent.pk == self.instance.pk:
            raise forms.ValidationError("Une structure ne peut pas être sa propre parente.")
        if parent.pk in descendant_ids(self.instance):
            raise forms.ValidationError(
                f"{parent} est rattachée (directement ou non) à cette structure : elle ne peut pas en être la parente."
            )
        return parent

    def clean_attach(self):
        structures = self.cleaned_data["attach"]
        if not structures:
            return []
        ancestors = self._ancestor_ids()
        for structure in structures:
            if structure.pk == self.instance.pk:
                raise forms.ValidationError("Une structure ne peut pas être rattachée à elle-même.")
            if structure.pk in ancestors:
                raise forms.ValidationError(
                    f"{structure} est une structure parente de celle-ci : elle ne peut pas lui être rattachée."
                )
        return structures

    def _ancestor_ids(self):
        ids, current, seen = set(), self.instance.parent, set()
        while current is not None and current.pk not in seen:
            seen.add(current.pk)
            ids.add(current.pk)
            current = current.parent
        return ids

    def clean(self):
        cleaned = super().clean()
        parent, attach = cleaned.get("parent_reference"), cleaned.get("attach") or []
        if parent is not None and any(s.pk == parent.pk for s in attach):
            self.add_error("attach", f"{parent} ne peut pas être à la fois la parente et une structure rattachée.")
        return cleaned


# --- referentials (superviseur) ---------------------------------------------------------------


class FinanceurForm(base.ModelForm):
    class Meta:
        model = Financeur
        fields = ["code", "libelle", "lheo_code", "is_public"]
        labels = {"code": "Code", "libelle": "Libellé", "is_public": "Fonds publics"}

    def clean_lheo_code(self):
        value = self.cleaned_data["lheo_code"].strip()
        if value not in lheo.codes(lheo.FINANCEURS):
            raise forms.ValidationError("Ce code n'existe pas dans la table LHEO des financeurs (dict-financeurs).")
        return value


class DispositifForm(base.ModelForm):
    class Meta:
        model = Dispositif
        fields = ["code", "libelle", "financeur", "entered_by", "training_kind", "is_public_funds", "is_active"]
        labels = {
            "code": "Code",
            "libelle": "Libellé",
            "financeur": "Financeur",
            "entered_by": "Saisie",
            "training_kind": "Type de formation",
            "is_public_funds": "Fonds publics",
            "is_active": "Actif (proposé à la saisie)",
        }
        help_texts = {"entered_by": "Qui peut saisir ce dispositif sur une session (tableau du guide)."}


REFERENTIALS = {
    "financeurs": {
        "title": "Financeurs",
        "singular": "financeur",
        "form": FinanceurForm,
        "columns": ["code", "libelle", "lheo_code", "is_public"],
    },
    "dispositifs": {
        "title": "Dispositifs / mesures",
        "singular": "dispositif",
        "form": DispositifForm,
        "columns": ["code", "libelle", "financeur", "entered_by", "training_kind", "is_public_funds", "is_active"],
    },
    "types-structure": {
        "title": "Types de structure",
        "singular": "type de structure",
        "form": modelform_factory(
            StructureType,
            form=base.ModelForm,
            fields=["code", "libelle"],
            labels={"code": "Code", "libelle": "Libellé"},
        ),
        "columns": ["code", "libelle"],
    },
    "etats-structure": {
        "title": "États de structure",
        "singular": "état de structure",
        "form": modelform_factory(
            StructureState,
            form=base.ModelForm,
            fields=["code", "libelle", "is_diffused"],
            labels={"code": "Code", "libelle": "Libellé", "is_diffused": "Diffusée"},
        ),
        "columns": ["code", "libelle", "is_diffused"],
    },
    "labels": {
        "title": "Conventions, labels et qualités",
        "singular": "label",
        "form": modelform_factory(
            Label,
            form=base.ModelForm,
            fields=["kind", "code", "libelle"],
            labels={"kind": "Type", "code": "Code", "libelle": "Libellé"},
        ),
        "columns": ["kind", "code", "libelle"],
    },
}


def referential_form(kind, *args, instance=None, **kwargs):
    """The form of a referential row; the code (the natural key that ``load_referentials``
    and the imports match on) is fixed once the row exists."""
    form = REFERENTIALS[kind]["form"](*args, instance=instance, **kwargs)
    if instance is not None and instance.pk and "code" in form.fields:
        form.fields["code"].disabled = True
        form.fields["code"].help_text = "Le code ne change pas une fois créé (clé des chargements)."
    return form


# --- users and roles (superviseur) ----------------------------------------------------------


class UserFilterForm(base.Form):
    q = forms.CharField(label="Recherche", required=False, help_text="Nom, prénom ou adresse e-mail")
    role = forms.ChoiceField(label="Rôle", required=False, choices=[("", "Tous"), *Role.choices])


class UserCreateForm(base.ModelForm):
    class Meta:
        model = User
        fields = ["email", "first_name", "last_name", "phone", "role"]
        labels = {
            "email": "Adresse e-mail",
            "first_name": "Prénom",
            "last_name": "Nom",
            "phone": "Téléphone",
            "role": "Rôle",
        }
        help_texts = {"email": "Elle sert d'identifiant ; la clé d'activation y est envoyée."}

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email=email).exists():
            raise forms.ValidationError("Un compte existe déjà avec cette adresse e-mail.")
        return email


class UserEditForm(base.ModelForm):
    add_structures = StructuresField(
        label="Donner des droits de saisie sur des structures",
        required=False,
        help_text="Références séparées par des espaces ou des virgules (ex. 23470P)",
    )
    remove_memberships = SafeModelMultipleChoiceField(
        label="Retirer des droits de saisie",
        required=False,
        queryset=Structure.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = User
        fields = ["first_name", "last_name", "phone", "role", "is_active"]
        labels = {
            "first_name": "Prénom",
            "last_name": "Nom",
            "phone": "Téléphone",
            "role": "Rôle",
            "is_active": "Compte actif",
        }
        help_texts = {"is_active": "Un compte inactif ne peut plus se connecter."}

    def __init__(self, *args, editor, **kwargs):
        self.editor = editor
        super().__init__(*args, **kwargs)
        self.fields["remove_memberships"].queryset = Structure.objects.filter(memberships__user=self.instance).order_by(
            "nom"
        )
        self.fields["remove_memberships"].label_from_instance = lambda s: f"{s.reference} - {s.nom}"

    def clean_role(self):
        role = self.cleaned_data["role"]
        if self.instance.pk == self.editor.pk and role != Role.SUPERVISEUR:
            raise forms.ValidationError("Vous ne pouvez pas retirer votre propre rôle de superviseur.")
        return role

    def clean_is_active(self):
        active = self.cleaned_data["is_active"]
        if self.instance.pk == self.editor.pk and not active:
            raise forms.ValidationError("Vous ne pouvez pas désactiver votre propre compte.")
        return active


# --- journal ---------------------------------------------------------------------------------------


class JournalFilterForm(base.Form):
    action = forms.ChoiceField(label="Action", required=False, choices=[("", "Toutes"), *HistoryAction.choices])
    auteur = forms.ChoiceField(label="Auteur", required=False)
    q = forms.CharField(label="Recherche", required=False, help_text="Dans le détail et le commentaire")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["auteur"].choices = [c for c in staff_choices() if c[0] not in ("moi", "aucun")]
