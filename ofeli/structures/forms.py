from django import forms

from ofeli.core import forms as base
from ofeli.referentials.enums import LabelKind
from ofeli.referentials.models import Label

from .models import StructureVersion


class CoordonneesForm(base.ModelForm):
    """C4 Coordonnées and C7 Complément of the structure record (draft version)."""

    labels = forms.ModelMultipleChoiceField(
        label="Conventions / Labels", queryset=Label.objects.filter(kind=LabelKind.CONVENTION),
        required=False, widget=forms.CheckboxSelectMultiple,
    )
    qualites = forms.ModelMultipleChoiceField(
        label="Qualités", queryset=Label.objects.filter(kind=LabelKind.QUALITE),
        required=False, widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = StructureVersion
        fields = ["adresse", "complement", "code_postal", "ville", "code_insee", "latitude", "longitude",
                  "saisie_manuelle", "telephone", "telephone_secondaire", "email", "site_web"]
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
