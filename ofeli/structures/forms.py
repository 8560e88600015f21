from django import forms

from ofeli.core import forms as base
from ofeli.referentials.enums import LabelKind
from ofeli.referentials.models import Label

from .models import StructureVersion


class CoordonneesForm(base.ModelForm):
    """C4 Coordonnées and C7 Complément of the structure record (draft version)."""

    labels = forms.ModelMultipleChoiceField(
        label="Conventions / Labels",
        queryset=Label.objects.filter(kind=LabelKind.CONVENTION),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    qualites = forms.ModelMultipleChoiceField(
        label="Qualités",
        queryset=Label.objects.filter(kind=LabelKind.QUALITE),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = StructureVersion
        fields = [
            "adresse",
            "complement",
            "code_postal",
            "ville",
            "code_insee",
            "latitude",
            "longitude",
            "saisie_manuelle",
            "telephone",
            "telephone_secondaire",
            "email",
            "site_web",
        ]
        widgets = {"code_insee": forms.HiddenInput, "latitude": forms.HiddenInput, "longitude": forms.HiddenInput}
        help_texts = {"site_web": "Au format https://..."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            chosen = list(self.instance.labels.all())
            self.initial["labels"] = [label.pk for label in chosen if label.kind == LabelKind.CONVENTION]
            self.initial["qualites"] = [label.pk for label in chosen if label.kind == LabelKind.QUALITE]
        for field in self.fields.values():
            field.widget.attrs["form"] = "structure-form"

    def clean_site_web(self):
        value = self.cleaned_data.get("site_web", "")
        if value and not value.startswith("https://"):
            raise forms.ValidationError("L'adresse URL de votre site web doit être saisie au format https://...")
        return value

    def clean_code_postal(self):
        value = self.cleaned_data.get("code_postal", "")
        if value and not (value.isdigit() and len(value) == 5):
            raise forms.ValidationError("Le code postal comporte 5 chiffres.")
        return value

    def save(self, commit=True):
        version = super().save(commit)
        version.labels.set([*self.cleaned_data["labels"], *self.cleaned_data["qualites"]])
        return version


GENERIC_ADDRESS_WORDS = (
    "centre-ville",
    "centre ville",
    "parvis",
    "parking",
    "arrêt de bus",
    "arret de bus",
    "arrêt de métro",
    "arret de metro",
    "place de l'église",
    "place de l'eglise",
    "mairie",
    "zone industrielle",
    "lieu-dit",
)


def generic_address_problem(adresse):
    """F6: a place needs a full physical address (number, street); generic ones are refused."""
    from ofeli.core.text import normalize_search

    text = normalize_search(adresse)
    for word in GENERIC_ADDRESS_WORDS:
        if normalize_search(word) in text:
            return (
                f"Les adresses généralistes (« {word} ») ne sont pas acceptées : indiquez une adresse physique "
                "complète (numéro, voie, ville)."
            )
    if not any(ch.isdigit() for ch in adresse):
        return "Indiquez une adresse physique complète : numéro et voie (exemple : 10 rue Grande)."
    return None


class LieuForm(base.Form):
    """Créer un nouveau lieu de formation (F6), « Sauvegarder et choisir »."""

    nom = forms.CharField(label="Nom du lieu", max_length=250)
    adresse = forms.CharField(label="Numéro et voie", max_length=250)
    code_postal = forms.CharField(label="Code postal", max_length=5)
    ville = forms.CharField(label="Ville", max_length=100)
    code_insee = forms.CharField(required=False, widget=forms.HiddenInput)
    latitude = forms.DecimalField(required=False, widget=forms.HiddenInput, max_digits=9, decimal_places=6)
    longitude = forms.DecimalField(required=False, widget=forms.HiddenInput, max_digits=9, decimal_places=6)

    def __init__(self, *args, form_id=None, **kwargs):
        kwargs.setdefault("prefix", "lieu")
        super().__init__(*args, **kwargs)
        if form_id:
            for field in self.fields.values():
                field.widget.attrs["form"] = form_id

    def clean_adresse(self):
        value = self.cleaned_data["adresse"]
        problem = generic_address_problem(value)
        if problem:
            raise forms.ValidationError(problem)
        return value

    def clean_code_postal(self):
        from django.conf import settings

        value = self.cleaned_data["code_postal"].strip()
        if not (value.isdigit() and len(value) == 5):
            raise forms.ValidationError("Le code postal comporte 5 chiffres.")
        if value[:2] not in settings.REGION_DEPARTEMENTS:
            raise forms.ValidationError("Le lieu de formation doit se trouver en région Centre-Val de Loire.")
        return value
