"""Forms of the formation and session screens (SPEC E, F).

Field rules that concern one value are checked here, with the same messages as the
submission rules (``rules.py``). A draft may be saved half complete (F15): required-ness
of the whole record is checked at « Soumettre pour validation », not on each save."""

from django import forms

from ofeli.core import forms as base
from ofeli.core.forms import SafeModelChoiceField, SafeModelMultipleChoiceField
from ofeli.core.params import as_id
from ofeli.core.text import clean_pasted_text
from ofeli.referentials import lheo
from ofeli.referentials.enums import EnteredBy, TrainingKind
from ofeli.referentials.models import BlocCompetences, Certification, Dispositif, Financeur
from ofeli.structures.forms import attach_to_form
from ofeli.structures.models import Contact, Lieu

from . import rules
from .enums import FinancementEtat, ModalitePedagogique, RythmeCode
from .models import FormationVersion, RecruitmentSlot, SessionVersion


class CertificationChoiceForm(base.Form):
    """E2 step one: « La formation mène-t-elle à une certification, un diplôme ou une habilitation ? »"""

    certifiante = forms.ChoiceField(
        label="La formation mène-t-elle à une certification, un diplôme ou une habilitation ?",
        choices=[("non", "Non"), ("oui", "Oui")],
        widget=forms.RadioSelect,
        initial="non",
    )
    certification = SafeModelChoiceField(
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
        value = clean_pasted_text(self.cleaned_data["intitule"])
        message = rules.intitule_problem(value)
        if message:
            raise forms.ValidationError(message)
        self.acronym_warning = rules.acronym_warning(value)
        return value

    def clean_site_web(self):
        value = self.cleaned_data.get("site_web", "")
        if value and not value.startswith("https://"):
            raise forms.ValidationError("L'adresse du site doit commencer par https://")
        return value

    def _clean_limited(self, name, label):
        value = clean_pasted_text(self.cleaned_data.get(name, ""))
        message = rules.text_limit_problem(value, label)
        if message:
            raise forms.ValidationError(message)
        return value

    def clean_objectif(self):
        return self._clean_limited("objectif", "L'objectif")

    def clean_contenu(self):
        return self._clean_limited("contenu", "Le contenu")


# Every field of the session page belongs to the one form of the page (attach_to_form).
SESSION_FORM = "session-form"


class SessionForm(base.ModelForm):
    """The plain fields of a session (F2, F4, F5, F8 comments, F11-F14). Collections
    (trainers, places, contacts, financements, cycles, blocs, équipements, recruitment
    slots) are added and removed by the page's other buttons."""

    modalites_pedagogiques = forms.MultipleChoiceField(
        label="Modalités pédagogiques",
        choices=ModalitePedagogique.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    rythme = forms.ChoiceField(
        label="Rythmes", choices=[("", "-- Choisissez un élément --"), *RythmeCode.choices], required=False
    )

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
            "prerequis",
            "type_parcours",
            "rythme",
            "commentaire_rythme",
            "modalites_pedagogiques",
            "commentaire_modalites_pedagogiques",
            "commentaire_session",
            "lieu_inscription",
            "contact_inscription",
            "debut_inscription",
            "fin_inscription",
            "commentaire_inscription",
            "hebergement",
            "restauration",
            "transport",
            "acces_handicapes",
        ]
        widgets = {
            "date_debut": base.DateInput(),
            "date_fin": base.DateInput(),
            "debut_inscription": base.DateInput(),
            "fin_inscription": base.DateInput(),
            "autres_of_formateurs": forms.Textarea(attrs={"rows": 3}),
            "commentaire_financement": forms.Textarea(attrs={"rows": 3}),
            "conditions_prise_en_charge": forms.Textarea(attrs={"rows": 3}),
            "commentaire_duree": forms.Textarea(attrs={"rows": 2}),
            "prerequis": forms.Textarea(attrs={"rows": 3}),
            "commentaire_rythme": forms.Textarea(attrs={"rows": 2}),
            "commentaire_modalites_pedagogiques": forms.Textarea(attrs={"rows": 2}),
            "commentaire_session": forms.Textarea(attrs={"rows": 3}),
            "commentaire_inscription": forms.Textarea(attrs={"rows": 2}),
            "hebergement": forms.Textarea(attrs={"rows": 2}),
            "restauration": forms.Textarea(attrs={"rows": 2}),
            "transport": forms.Textarea(attrs={"rows": 2}),
            "acces_handicapes": forms.Textarea(attrs={"rows": 2}),
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
            "prerequis": "Conditions spécifiques d'accès, aptitudes requises, tranche d'âge...",
            "lieu_inscription": "Lieu où s'inscrire à cette session.",
            "contact_inscription": "Contact à joindre pour s'inscrire.",
            "acces_handicapes": "Accessibilité des locaux et adaptations possibles.",
        }
        labels = {
            "duree_centre": "Durée en centre (heures)",
            "duree_entreprise": "Durée en entreprise (heures)",
            "duree_hebdomadaire": "Durée hebdomadaire (heures)",
            "acces_handicapes": "Accessibilité",
        }

    def __init__(self, *args, structure, places=None, contacts=None, published=None, **kwargs):
        self.structure = structure
        self.published = published  # the same session in the published version, if any
        super().__init__(*args, **kwargs)
        self.fields["lieu_inscription"].queryset = places if places is not None else Lieu.objects.none()
        self.fields["contact_inscription"].queryset = contacts if contacts is not None else Contact.objects.none()
        self.fields["lieu_inscription"].empty_label = "-- Choisissez un lieu --"
        self.fields["contact_inscription"].empty_label = "-- Choisissez un contact --"
        self.fields["type_parcours"].choices = [("", "-- Choisissez un élément --"), *lheo.choices(lheo.TYPE_PARCOURS)]
        for name in ("duree_centre", "duree_entreprise", "duree_hebdomadaire"):
            self.fields[name].widget.attrs.update({"min": 0, "inputmode": "numeric"})
        # F2: required at « Soumettre pour validation » (a draft may be saved without them):
        # the guide's « * » says so.
        for name in ("date_debut", "date_fin"):
            self.fields[name].label = f"{self.fields[name].label} *"
            self[name].label = self.fields[name].label  # the DSFR form has built its bound fields
        attach_to_form(self, SESSION_FORM)

    def clean(self):
        cleaned = super().clean()
        debut, fin = cleaned.get("date_debut"), cleaned.get("date_fin")
        if debut and fin and fin < debut:
            self.add_error("date_fin", rules.dates_problem(debut, fin))
        else:
            message = rules.calendar_year_problem(
                debut, fin, cleaned.get("a_la_demande"), cleaned.get("entree_sortie_permanente")
            )
            if message:
                self.add_error("date_fin", message)
            elif self.published and (cleaned.get("a_la_demande") or cleaned.get("entree_sortie_permanente")):
                old = self.published
                if fin and old.date_fin and fin.year > old.date_fin.year and fin > old.date_fin:
                    self.add_error(
                        "date_fin",
                        "Il faut créer une nouvelle session chaque année et non modifier la date de fin : "
                        "utilisez « Dupliquer » sur la liste des sessions puis indiquez les dates de la nouvelle année.",
                    )
        message = rules.distance_problem(cleaned.get("modalite_enseignement"), self.structure)
        if message:
            self.add_error("modalite_enseignement", message)
        centre, entreprise = cleaned.get("duree_centre"), cleaned.get("duree_entreprise")
        if centre is not None and entreprise is not None and centre + entreprise == 0:
            self.add_error("duree_centre", "La durée totale est obligatoire : ne pas mettre zéro.")
        ins_debut, ins_fin = cleaned.get("debut_inscription"), cleaned.get("fin_inscription")
        if ins_debut and ins_fin and ins_fin < ins_debut:
            self.add_error("fin_inscription", "La fin d'inscription doit être postérieure au début d'inscription.")
        if ins_debut and fin and ins_debut > fin:
            self.add_error("debut_inscription", "L'inscription doit commencer avant la fin de la session.")
        return cleaned


class DuplicateSessionForm(base.Form):
    """« Dupliquer » (E6, F2): the dates of the new session, asked before the copy is made;
    the registration period and the recruitment slots move by the same offset."""

    date_debut = forms.DateField(label="Date de début de la nouvelle session", widget=base.DateInput())
    date_fin = forms.DateField(label="Date de fin de la nouvelle session", widget=base.DateInput())

    def __init__(self, *args, source, **kwargs):
        self.source = source
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        debut, fin = cleaned.get("date_debut"), cleaned.get("date_fin")
        if debut and fin:
            message = rules.dates_problem(debut, fin) or rules.calendar_year_problem(
                debut, fin, self.source.a_la_demande, self.source.entree_sortie_permanente
            )
            if message:
                self.add_error("date_fin", message)
        return cleaned


class FinancementForm(base.Form):
    """F8 « Ajouter » : a financeur, then a mesure of that financeur. Which schemes an OF
    may enter itself follows the guide's table (Dispositif.entered_by)."""

    financeur = SafeModelChoiceField(
        label="Financeur", queryset=Financeur.objects.all(), required=False, empty_label="-- Choisissez un financeur --"
    )
    dispositif = SafeModelChoiceField(
        label="Mesure", queryset=Dispositif.objects.none(), required=False, empty_label="-- Choisissez une mesure --"
    )
    etat_recrutement = forms.ChoiceField(
        label="État recrutement", choices=lheo.choices(lheo.ETAT_RECRUTEMENT), initial="1", required=False
    )
    etat = forms.ChoiceField(label="État", choices=FinancementEtat.choices, initial="DI", required=False)
    nb_places = forms.IntegerField(label="Nb places", min_value=0, required=False)
    numero_marche = forms.CharField(label="N° marché", max_length=50, required=False)

    def __init__(self, *args, user, new_formation=False, **kwargs):
        super().__init__(*args, prefix="fin", **kwargs)
        self.user = user
        self.new_formation = new_formation
        financeur_id = as_id(self.data.get("fin-financeur")) if self.is_bound else None
        dispositifs = Dispositif.objects.filter(is_active=True).select_related("financeur")
        if not user.is_carif:
            dispositifs = dispositifs.filter(entered_by=EnteredBy.OF)
            self.fields["financeur"].queryset = Financeur.objects.filter(
                dispositifs__entered_by=EnteredBy.OF, dispositifs__is_active=True
            ).distinct()
            del self.fields["etat"]
        # The mesures depend on the financeur: none until one is chosen (F8).
        if financeur_id:
            dispositifs = dispositifs.filter(financeur_id=financeur_id)
        else:
            dispositifs = dispositifs.none()
        self.fields["dispositif"].queryset = dispositifs
        attach_to_form(self, SESSION_FORM)

    def _post_clean(self):
        raw = as_id(self.data.get("fin-dispositif"))
        if "dispositif" in self.errors and raw:
            forged = Dispositif.objects.filter(pk=raw).first()
            if forged and forged.entered_by == EnteredBy.CARIF and not self.user.is_carif:
                self.errors["dispositif"] = self.error_class(
                    [
                        f"La mesure « {forged.libelle} » est saisie uniquement par l'équipe OFeli (GIP Alfa CVL) : "
                        "ces formations arrivent par les flux des financeurs."
                    ]
                )

    def clean(self):
        cleaned = super().clean()
        financeur, dispositif = cleaned.get("financeur"), cleaned.get("dispositif")
        if not financeur:
            self.add_error("financeur", "Choisissez le financeur.")
        if not dispositif:
            if "dispositif" not in self.errors:
                self.add_error("dispositif", "Choisissez la mesure.")
        elif financeur and dispositif.financeur_id != financeur.pk:
            self.add_error("dispositif", "Cette mesure n'appartient pas au financeur choisi.")
        elif (
            self.new_formation
            and not self.user.is_carif
            and (dispositif.is_apprenticeship or dispositif.training_kind == TrainingKind.SCOLAIRE)
        ):
            self.add_error(
                "dispositif",
                "Pour les formations par apprentissage et les formations scolaires, vous pouvez ajouter de nouvelles "
                "sessions aux formations existantes mais pas créer de nouvelles formations. Écrivez-nous via la "
                "messagerie si une formation manque.",
            )
        return cleaned


class SessionContactForm(base.Form):
    """F7: pick a contact among the contacts of the user's structures, with its type. The page
    does not draw ``contact`` as a drop-down: « Personne » is a search field whose results are
    radios named ``ct-contact`` (formations/_contact_results.html, issue 10)."""

    contact = SafeModelChoiceField(
        label="Personne",
        queryset=Contact.objects.none(),
        required=False,
        empty_label="-- Choisissez un contact --",
        error_messages={
            "invalid_choice": (
                "Ce contact ne fait pas partie des contacts de vos structures : recherchez-le puis sélectionnez-le "
                "dans la liste."
            )
        },
    )
    type_contact = forms.ChoiceField(
        label="Type", choices=[("", "-- Choisissez un type --"), *lheo.choices(lheo.TYPE_CONTACT)], required=False
    )
    is_principal = forms.BooleanField(label="Contact principal de la session", required=False)

    def __init__(self, *args, contacts, **kwargs):
        super().__init__(*args, prefix="ct", **kwargs)
        self.fields["contact"].queryset = contacts
        attach_to_form(self, SESSION_FORM)

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("contact") and "contact" not in self.errors:
            self.add_error("contact", "Choisissez le contact à ajouter.")
        return cleaned


class CycleForm(base.Form):
    """F9 Cycles de l'alternance: one row per year open to apprenticeship."""

    annee = forms.TypedChoiceField(label="Année cycle", coerce=int, required=False)
    type_cycle = forms.ChoiceField(label="Type de cycle", choices=lheo.choices(lheo.TYPE_CYCLE), initial="1")
    type_alternance = forms.ChoiceField(
        label="Type d'alternance", choices=lheo.choices(lheo.TYPE_ALTERNANCE), initial="1"
    )

    def __init__(self, *args, duree_cycle, taken=(), **kwargs):
        super().__init__(*args, prefix="cy", **kwargs)
        self.duree_cycle = duree_cycle
        self.taken = set(taken)
        years = [(y, f"Année {y}") for y in range(1, (duree_cycle or 0) + 1) if y not in self.taken]
        self.fields["annee"].choices = [("", "-- Choisissez une année --"), *years]
        attach_to_form(self, SESSION_FORM)

    def clean_annee(self):
        if not self.duree_cycle:
            raise forms.ValidationError(
                "L'année cycle ne peut pas être choisie tant que la durée cycle de la formation n'est pas renseignée "
                "(onglet Informations générales de la formation)."
            )
        value = self.cleaned_data.get("annee")
        if not value:
            raise forms.ValidationError("Choisissez l'année cycle.")
        return value


class BlocsForm(base.Form):
    """F10 Blocs de compétences: Totale selects every block; Partielle lets the user pick."""

    certification = SafeModelChoiceField(
        label="Certification", queryset=Certification.objects.none(), required=False, empty_label=None
    )
    type_validation = forms.ChoiceField(
        label="Type de validation",
        choices=[("", "-- Choisissez un élément --"), *lheo.choices(lheo.TYPE_VALIDATION_BLOCS)],
        required=False,
    )
    blocs = SafeModelMultipleChoiceField(
        label="Blocs de compétences",
        queryset=BlocCompetences.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, certifications, **kwargs):
        super().__init__(*args, prefix="bl", **kwargs)
        self.fields["certification"].queryset = certifications
        self.fields["blocs"].queryset = BlocCompetences.objects.filter(certification__in=certifications)
        attach_to_form(self, SESSION_FORM)

    def clean(self):
        cleaned = super().clean()
        certification, kind = cleaned.get("certification"), cleaned.get("type_validation")
        if not certification:
            self.add_error("certification", "Choisissez la certification.")
            return cleaned
        if not kind:
            self.add_error("type_validation", "Choisissez le type de validation.")
            return cleaned
        own = list(certification.blocs.all())
        if kind == "1":
            cleaned["blocs"] = own
        else:
            chosen = [b for b in cleaned.get("blocs") or [] if b.certification_id == certification.pk]
            if not chosen:
                self.add_error("blocs", "Sélectionnez les blocs concernés par la validation partielle.")
            cleaned["blocs"] = chosen
        return cleaned


class EquipementForm(base.Form):
    """F12 Équipements."""

    type_equipement = forms.ChoiceField(
        label="Type", choices=[("", "-- Choisissez un élément --"), *lheo.choices(lheo.TYPE_EQUIPEMENT)], required=False
    )
    cout_indicatif = forms.DecimalField(
        label="Coût indicatif (€)", min_value=0, max_digits=9, decimal_places=2, required=False
    )
    commentaire = forms.CharField(label="Commentaire", max_length=500, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="eq", **kwargs)
        attach_to_form(self, SESSION_FORM)

    def clean_type_equipement(self):
        value = self.cleaned_data.get("type_equipement")
        if not value:
            raise forms.ValidationError("Choisissez le type d'équipement.")
        return value


DATED_MODALITIES = {"9", "8"}  # réunion d'information collective, rendez-vous individuel


class RecruitmentSlotForm(base.ModelForm):
    """F13 Modalités de recrutement: a slot starts before the session ends and never
    overlaps another slot of the session."""

    use_trainer_address = forms.BooleanField(label="Adresse OF Formateur", required=False)

    class Meta:
        model = RecruitmentSlot
        fields = [
            "modalite",
            "date",
            "heure_debut",
            "heure_fin",
            "nb_places",
            "lien_web",
            "commentaire",
            "perimetre",
            "commentaire_perimetre",
            "a_distance",
            "lieu",
            "structure",
        ]
        widgets = {
            "date": base.DateInput(),
            "heure_debut": base.TimeInput(),
            "heure_fin": base.TimeInput(),
            "commentaire": forms.Textarea(attrs={"rows": 2}),
            "commentaire_perimetre": forms.Textarea(attrs={"rows": 2}),
        }
        help_texts = {
            "modalite": (
                "France Travail utilise « Réunion d'information collective », « Rendez-vous individuel » et « Inscription "
                "sur candidature » pour positionner les demandeurs d'emploi : au moins une est obligatoire."
            ),
        }

    def __init__(self, *args, sv, places, structures, **kwargs):
        kwargs.setdefault("prefix", "rs")
        super().__init__(*args, **kwargs)
        self.sv = sv
        self.fields["modalite"].choices = [
            ("", "-- Choisissez un élément --"),
            *lheo.recruitment_modality_choices(),
        ]
        self.fields["modalite"].required = False
        self.fields["structure"].required = False
        self.fields["lieu"].queryset = places
        self.fields["lieu"].empty_label = "-- Choisissez un lieu --"
        self.fields["structure"].queryset = structures
        self.fields["structure"].empty_label = None
        self.fields["perimetre"].choices = [
            ("", "-- Choisissez un élément --"),
            *lheo.choices(lheo.PERIMETRE_RECRUTEMENT),
        ]
        attach_to_form(self, SESSION_FORM)

    def clean(self):
        cleaned = super().clean()
        modalite = cleaned.get("modalite")
        if not modalite:
            self.add_error("modalite", "Choisissez la modalité de recrutement.")
        if not cleaned.get("structure"):
            self.add_error("structure", "Choisissez la structure.")
        if modalite in DATED_MODALITIES:
            for name, label in (
                ("date", "La date"),
                ("heure_debut", "L'horaire de début"),
                ("heure_fin", "L'horaire de fin"),
                ("nb_places", "Le nombre de places"),
            ):
                if cleaned.get(name) in (None, "") and name not in self.errors:
                    self.add_error(name, f"{label} est obligatoire pour cette modalité.")
        debut, fin = cleaned.get("heure_debut"), cleaned.get("heure_fin")
        if debut and fin and fin <= debut:
            self.add_error("heure_fin", "L'horaire de fin doit suivre l'horaire de début.")
        day = cleaned.get("date")
        if day and self.sv.date_fin and day >= self.sv.date_fin:
            self.add_error(
                "date",
                f"La plage de recrutement doit commencer avant la fin de la session ({self.sv.date_fin:%d/%m/%Y}).",
            )
        if day and debut and fin and not self.errors:
            others = self.sv.recruitment_slots.exclude(pk=self.instance.pk)
            message = rules.slot_overlap_problem([*others, RecruitmentSlot(date=day, heure_debut=debut, heure_fin=fin)])
            if message:
                self.add_error("heure_debut", message)
        no_address = not (cleaned.get("a_distance") or cleaned.get("lieu") or cleaned.get("use_trainer_address"))
        if no_address and modalite in DATED_MODALITIES and "lieu" not in self.errors:
            self.add_error("lieu", "Indiquez l'adresse de la plage, cochez « Adresse OF Formateur » ou « À distance ».")
        return cleaned
