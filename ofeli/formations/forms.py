"""Forms of the formation and session screens (SPEC E, F).

Field rules that concern one value are checked here, with the same messages as the
submission rules (``rules.py``). A draft may be saved half complete (F15): required-ness
of the whole record is checked at « Soumettre pour validation », not on each save."""

from django import forms

from ofeli.core import forms as base
from ofeli.referentials import lheo
from ofeli.referentials.models import Certification, Dispositif, Financeur

from . import rules
from .models import FormationVersion, SessionVersion


class CertificationChoiceForm(base.Form):
    """E2 step one: « La formation mène-t-elle à une certification, un diplôme ou une habilitation ? »"""

    certifiante = forms.ChoiceField(
        label="La formation mène-t-elle à une certification, un diplôme ou une habilitation ?",
        choices=[("non", "Non"), ("oui", "Oui")],
        widget=forms.RadioSelect,
        initial="non",
    )
    certification = forms.ModelChoiceField(
        label="Certification",
        queryset=Certification.objects.all(),
        required=False,
        widget=forms.HiddenInput,
    )
    intitule = forms.CharField(label="Intitulé de la formation", max_length=255, required=False)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("certifiante") == "oui" and not cleaned.get("certification"):
            self.add_error(
                "certification",
                "Recherchez puis sélectionnez la certification, puis cliquez sur « Valider ma sélection ».",
            )
        if cleaned.get("certifiante") == "non":
            cleaned["certification"] = None
            message = rules.intitule_problem(cleaned.get("intitule", ""))
            if message:
                self.add_error("intitule", message)
        return cleaned


class FormationForm(base.ModelForm):
    """E4 « Informations générales »."""

    class Meta:
        model = FormationVersion
        fields = ["intitule", "duree_cycle", "niveau_entree", "niveau_sortie", "objectif", "contenu", "site_web"]
        help_texts = {
            "intitule": "Lisible et explicite, en minuscules accentuées ; évitez les sigles et acronymes.",
            "duree_cycle": (
                "Obligatoire pour les formations en apprentissage : durée complète et officielle de préparation "
                "de la certification, en années (BTS : 2, Bac pro : 3, CAP en 1 an : 1)."
            ),
            "niveau_entree": "Niveau minimum attendu pour intégrer la formation.",
            "niveau_sortie": "Niveau atteint après la formation.",
            "objectif": "Compétences visées (savoirs, savoir-faire, comportements). 3 000 caractères maximum.",
            "contenu": "Description détaillée des sujets traités. 3 000 caractères maximum.",
            "site_web": "Adresse commençant par https://",
        }
        widgets = {
            "objectif": base.limited_textarea(rules.TEXT_LIMIT),
            "contenu": base.limited_textarea(rules.TEXT_LIMIT, rows=10),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        levels = [("", "-- Choisissez un élément --")] + lheo.level_choices()
        self.fields["niveau_entree"].choices = levels
        self.fields["niveau_sortie"].choices = levels
        self.fields["duree_cycle"].widget.attrs.update({"min": 1, "max": 8})

    def clean_intitule(self):
        from ofeli.core.text import clean_pasted_text

        value = clean_pasted_text(self.cleaned_data["intitule"])
        message = rules.intitule_problem(value)
        if message:
            raise forms.ValidationError(message)
        return value

    def clean_site_web(self):
        value = self.cleaned_data.get("site_web", "")
        if value and not value.startswith("https://"):
            raise forms.ValidationError("L'adresse du site doit commencer par https://")
        return value

    def _clean_limited(self, name, label):
        from ofeli.core.text import clean_pasted_text

        value = clean_pasted_text(self.cleaned_data.get(name, ""))
        message = rules.text_limit_problem(value, label)
        if message:
            raise forms.ValidationError(message)
        return value

    def clean_objectif(self):
        return self._clean_limited("objectif", "L'objectif")

    def clean_contenu(self):
        return self._clean_limited("contenu", "Le contenu")


class SessionForm(base.ModelForm):
    """The plain fields of a session (F2, F4, F5, F11). Collections (trainers, places,
    financements...) have their own actions on the same page."""

    class Meta:
        model = SessionVersion
        fields = [
            "date_debut",
            "date_fin",
            "a_la_demande",
            "entree_sortie_permanente",
            "kind",
            "autres_of_formateurs",
            "modalite_enseignement",
            "commentaire_financement",
            "conditions_prise_en_charge",
            "duree_centre",
            "duree_entreprise",
            "duree_hebdomadaire",
            "commentaire_duree",
        ]
        widgets = {
            "date_debut": base.DateInput(),
            "date_fin": base.DateInput(),
            "autres_of_formateurs": forms.Textarea(attrs={"rows": 3}),
            "commentaire_financement": forms.Textarea(attrs={"rows": 3}),
            "conditions_prise_en_charge": forms.Textarea(attrs={"rows": 3}),
            "commentaire_duree": forms.Textarea(attrs={"rows": 2}),
        }
        help_texts = {
            "a_la_demande": "Ouverture de la session en fonction du nombre d'inscrits.",
            "entree_sortie_permanente": "Sessions programmées régulièrement entre la date de début et la date de fin.",
            "autres_of_formateurs": (
                "Informations relatives à d'autres organismes formateurs intervenant dans la session et auxquels "
                "vous n'avez pas accès (raison sociale, SIRET, adresse...)."
            ),
            "duree_centre": "Nombre d'heures en face à face pédagogique.",
            "duree_entreprise": "Nombre d'heures en situation de travail (stage en entreprise, immersion...).",
        }
        labels = {
            "duree_centre": "Durée en centre (heures)",
            "duree_entreprise": "Durée en entreprise (heures)",
            "duree_hebdomadaire": "Durée hebdomadaire (heures)",
        }

    def __init__(self, *args, structure, **kwargs):
        self.structure = structure
        super().__init__(*args, **kwargs)
        for name in self.fields:
            self.fields[name].widget.attrs["form"] = "session-form"

    def clean(self):
        cleaned = super().clean()
        debut, fin = cleaned.get("date_debut"), cleaned.get("date_fin")
        if debut and fin and fin < debut:
            self.add_error("date_fin", "La date de fin doit être postérieure ou égale à la date de début.")
        message = rules.distance_problem(cleaned.get("modalite_enseignement"), self.structure)
        if message:
            self.add_error("modalite_enseignement", message)
        return cleaned


class FinancementForm(base.Form):
    """F8 « Ajouter » : a financeur, then a mesure of that financeur."""

    financeur = forms.ModelChoiceField(
        label="Financeur", queryset=Financeur.objects.all(), required=False, empty_label="-- Choisissez un financeur --"
    )
    dispositif = forms.ModelChoiceField(
        label="Mesure", queryset=Dispositif.objects.none(), required=False, empty_label="-- Choisissez une mesure --"
    )
    nb_places = forms.IntegerField(label="Nb places", min_value=0, required=False)
    numero_marche = forms.CharField(label="N° marché", max_length=50, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, prefix="fin", **kwargs)
        self.user = user
        financeur_id = self.data.get("fin-financeur") if self.is_bound else None
        dispositifs = Dispositif.objects.filter(is_active=True).select_related("financeur")
        if not user.is_carif:
            dispositifs = dispositifs.filter(entered_by="OF")
            self.fields["financeur"].queryset = Financeur.objects.filter(
                dispositifs__entered_by="OF", dispositifs__is_active=True
            ).distinct()
        if financeur_id:
            dispositifs = dispositifs.filter(financeur_id=financeur_id if str(financeur_id).isdigit() else None)
        self.fields["dispositif"].queryset = dispositifs
        for field in self.fields.values():
            field.widget.attrs["form"] = "session-form"

    def clean(self):
        cleaned = super().clean()
        financeur, dispositif = cleaned.get("financeur"), cleaned.get("dispositif")
        if not financeur:
            self.add_error("financeur", "Choisissez le financeur.")
        if not dispositif:
            self.add_error("dispositif", "Choisissez la mesure.")
        elif financeur and dispositif.financeur_id != financeur.pk:
            self.add_error("dispositif", "Cette mesure n'appartient pas au financeur choisi.")
        return cleaned
