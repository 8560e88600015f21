"""Forms of the structure record « Fiche organisme » (SPEC C4, C6, C7, C9) and the reusable
pieces of the session screens: LieuForm (F6) and ContactForm (F7).

ContactForm is the address-book entry of F7 (Structure*, Nom*, Prénom, Types de contact,
Fonction, Service, Email, Téléphone, confirmation); its ``structure`` choices are limited
to the structures the user holds rights on; ``save(user=...)`` allocates the reference,
keeps one main contact per structure and writes the history. See docs/structures.md."""

import functools
import re

from django import forms
from django.conf import settings
from django.db import transaction
from django.template.defaultfilters import filesizeformat

from ofeli.core import forms as base
from ofeli.core.forms import SafeModelChoiceField, SafeModelMultipleChoiceField
from ofeli.core.models import next_reference
from ofeli.core.regions import departement_of_postcode
from ofeli.core.text import normalize_search
from ofeli.core.uploads import DOCUMENT_EXTENSIONS, validate_upload
from ofeli.referentials import lheo
from ofeli.referentials.enums import LabelKind
from ofeli.referentials.models import Label
from ofeli.users.perms import accessible_structures
from ofeli.workflow.enums import HistoryAction
from ofeli.workflow.history import record

from .models import Contact, Document, Structure, StructureVersion

PHONE_MESSAGE = (
    "Le numéro de téléphone doit comporter 10 chiffres (exemple : 02 38 77 83 35), "
    "ou commencer par + suivi de l'indicatif du pays."
)
HTTPS_MESSAGE = (
    "L'adresse URL de votre site web doit être saisie au format https://... (exemple : https://www.example.org)."
)


def normalize_phone(value):
    """French numbers are written « 02 38 77 83 35 »; international ones keep their +.
    Raises ValidationError with a French message when the number cannot be a phone number."""
    value = (value or "").strip()
    if not value:
        return ""
    compact = re.sub(r"[\s.\-()/]", "", value)
    if compact.startswith("+33") and len(compact) == 12 and compact[3:].isdigit():
        compact = "0" + compact[3:]
    if compact.startswith("0033") and len(compact) == 13 and compact[4:].isdigit():
        compact = "0" + compact[4:]
    if len(compact) == 10 and compact.isdigit() and compact.startswith("0"):
        return " ".join(compact[i : i + 2] for i in range(0, 10, 2))
    if compact.startswith("+") and compact[1:].isdigit() and 8 <= len(compact) - 1 <= 15:
        return compact
    raise forms.ValidationError(PHONE_MESSAGE, code="phone")


def attach_to_form(form, form_id):
    """Fields rendered outside their <form> element point to it with the ``form`` attribute,
    hidden ones too: ``{{ form }}`` draws them with ``field.hidden_widget``, not their widget."""
    if form_id:
        for field in form.fields.values():
            field.widget.attrs["form"] = form_id
            field.hidden_widget = functools.partial(forms.HiddenInput, attrs={"form": form_id})


class DsfrCheckboxSelectMultiple(forms.CheckboxSelectMultiple):
    """Checkboxes drawn the DSFR way (the project's form renderer finds Django's own option
    template first)."""

    option_template_name = "structures/widgets/checkbox_option.html"

    def __init__(self, attrs=None, choices=(), inline=False):
        super().__init__(attrs, choices)
        self.inline = inline


# --- C4 Coordonnées and C7 Complément (the versioned draft) ----------------------------------

ADDRESS_FIELDS = ("adresse", "code_postal", "ville")
GEOLOCATION_FIELDS = ("code_insee", "latitude", "longitude")


class CoordonneesForm(base.ModelForm):
    """C4 Coordonnées and C7 Complément of the structure record (draft version).

    Its fields carry ``form="structure-form"``: the page's one form element is empty and
    the fields live in the tabs. When the address changes without a new geolocation (typed
    by hand, no « Localiser l'adresse »), the old geolocation is dropped rather than kept
    wrong."""

    site_web = forms.URLField(
        label="Site web",
        max_length=400,
        required=False,
        assume_scheme="https",
        help_text="Au format https://...",
        error_messages={"invalid": HTTPS_MESSAGE},
    )
    labels = SafeModelMultipleChoiceField(
        label="Conventions / Labels",
        queryset=Label.objects.filter(kind=LabelKind.CONVENTION),
        required=False,
        widget=DsfrCheckboxSelectMultiple,
    )
    qualites = SafeModelMultipleChoiceField(
        label="Qualités",
        queryset=Label.objects.filter(kind=LabelKind.QUALITE),
        required=False,
        widget=DsfrCheckboxSelectMultiple,
        help_text="Certifications qualité en cours de validité (exemple : 95 - Qualiopi).",
    )

    class Meta:
        model = StructureVersion
        fields = [
            "saisie_manuelle",
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
        widgets = {"code_insee": forms.HiddenInput, "latitude": forms.HiddenInput, "longitude": forms.HiddenInput}
        labels = {
            "adresse": "Numéro et voie",
            "telephone": "Téléphone principal",
            "telephone_secondaire": "Autre téléphone",
            "email": "E-mail principal",
        }
        help_texts = {
            "saisie_manuelle": "Cochez si votre adresse n'est pas trouvée dans la Base Adresse Nationale, "
            "puis saisissez-la ou corrigez-la à la main.",
            "email": "Exemple : contact@organisme.fr",
            "telephone": "Exemple : 02 38 77 83 35",
        }

    def __init__(self, *args, form_id="structure-form", **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            chosen = list(self.instance.labels.all())
            self.initial["labels"] = [label.pk for label in chosen if label.kind == LabelKind.CONVENTION]
            self.initial["qualites"] = [label.pk for label in chosen if label.kind == LabelKind.QUALITE]
        for name in ("telephone", "telephone_secondaire"):
            self.fields[name].widget.attrs.update({"autocomplete": "tel", "inputmode": "tel"})
        self.fields["email"].widget.attrs["autocomplete"] = "email"
        self.fields["code_postal"].widget.attrs.update({"inputmode": "numeric", "autocomplete": "postal-code"})
        self.fields["ville"].widget.attrs["autocomplete"] = "address-level2"
        self.fields["adresse"].widget.attrs["autocomplete"] = "address-line1"
        attach_to_form(self, form_id)

    def clean_site_web(self):
        value = self.cleaned_data.get("site_web", "")
        if value and not value.lower().startswith("https://"):
            raise forms.ValidationError(HTTPS_MESSAGE, code="https")
        return value

    def clean_code_postal(self):
        value = self.cleaned_data.get("code_postal", "").replace(" ", "")
        if value and not (value.isdigit() and len(value) == 5):
            raise forms.ValidationError("Le code postal comporte 5 chiffres.", code="code_postal")
        return value

    def clean_telephone(self):
        return normalize_phone(self.cleaned_data.get("telephone"))

    def clean_telephone_secondaire(self):
        return normalize_phone(self.cleaned_data.get("telephone_secondaire"))

    def clean(self):
        cleaned = super().clean()
        changed = set(self.changed_data)
        if changed & set(ADDRESS_FIELDS) and not changed & set(GEOLOCATION_FIELDS):
            # The typed address no longer matches the stored geolocation.
            cleaned["code_insee"] = ""
            cleaned["latitude"] = cleaned["longitude"] = None
        return cleaned

    def save(self, commit=True):
        version = super().save(commit)
        version.labels.set([*self.cleaned_data["labels"], *self.cleaned_data["qualites"]])
        return version


# --- C6 / F7 contacts (address book, not versioned) -------------------------------------------


CONFIRM_NEW_LABEL = (
    "Je confirme avoir bien vérifié que le contact à créer n'existe pas déjà dans la structure "
    "sélectionnée via l'onglet de recherche ci-dessus"
)


def same_name_contacts(structure, nom, prenom="", email="", exclude_pk=None):
    """Contacts of ``structure`` that look like the same person: same first and last name
    (accents and case ignored), or same e-mail address."""
    if structure is None or not nom:
        return []
    wanted = (normalize_search(nom), normalize_search(prenom))
    email = (email or "").strip().lower()
    rows = Contact.objects.filter(structure=structure).only("pk", "reference", "nom", "prenom", "email")
    if exclude_pk:
        rows = rows.exclude(pk=exclude_pk)
    return [
        c
        for c in rows
        if (normalize_search(c.nom), normalize_search(c.prenom)) == wanted or (email and c.email.lower() == email)
    ]


class ContactForm(base.ModelForm):
    """A contact of a structure (F7 « Créer un nouveau contact », C6).

    ``ContactForm(data, user=request.user, structure=None, form_id=None, prefix="contact")``:

    - ``structure`` choices are the structures ``user`` holds rights on (all for Carif staff);
      ``structure=`` preselects one (F7: the session's organisme) or, with
      ``fixed_structure=True``, is the only choice (the structure record);
    - the confirmation « Je confirme avoir bien vérifié... » is required to create;
    - a contact with the same name (or e-mail) in the structure is flagged: the form asks
      to confirm that it is another person (field ``confirm_duplicate``, added only then);
    - ``save(user=...)`` allocates the reference (00018C), makes it the only main contact
      when « Contact principal » is ticked, and writes the structure's history.
    """

    structure = SafeModelChoiceField(label="Structure", queryset=Structure.objects.none(), empty_label=None)
    types = forms.MultipleChoiceField(
        label="Types de contact",
        choices=lheo.choices(lheo.TYPE_CONTACT),
        required=False,
        widget=DsfrCheckboxSelectMultiple(inline=True),
        help_text="Types de la norme LHEO ; plusieurs types sont possibles.",
    )
    confirm_new = forms.BooleanField(
        label=CONFIRM_NEW_LABEL,
        required=True,
        error_messages={"required": "Cochez cette case pour confirmer que le contact n'existe pas déjà."},
    )

    class Meta:
        model = Contact
        fields = ["structure", "nom", "prenom", "types", "fonction", "service", "email", "telephone"]
        help_texts = {"telephone": "Exemple : 02 38 77 83 35"}

    def __init__(self, *args, user, structure=None, fixed_structure=False, form_id=None, **kwargs):
        kwargs.setdefault("prefix", "contact")
        super().__init__(*args, **kwargs)
        self.user = user
        allowed = accessible_structures(user).order_by("nom")
        if fixed_structure and structure is not None:
            allowed = allowed.filter(pk=structure.pk)
        self.fields["structure"].queryset = allowed
        self.fields["structure"].label_from_instance = str
        if structure is not None and not self.instance.pk:
            self.initial.setdefault("structure", structure.pk)
        if self.instance.pk:
            del self.fields["confirm_new"]
        self.fields["email"].widget.attrs["autocomplete"] = "off"
        self.fields["telephone"].widget.attrs["inputmode"] = "tel"
        self.duplicates = self._raw_duplicates() if self.is_bound else []
        if self.duplicates:
            self.fields["confirm_duplicate"] = forms.BooleanField(
                label="Je confirme qu'il s'agit d'une autre personne : créer ou enregistrer ce contact",
                required=False,
            )
        self.form_id = form_id
        attach_to_form(self, form_id)

    def _raw_duplicates(self):
        """Duplicates from the typed values, so that the confirmation shows with the warning."""
        try:
            structure = self.fields["structure"].queryset.filter(pk=self.data.get(self.add_prefix("structure"))).first()
        except (ValueError, TypeError):
            return []
        return same_name_contacts(
            structure,
            (self.data.get(self.add_prefix("nom")) or "").strip(),
            (self.data.get(self.add_prefix("prenom")) or "").strip(),
            (self.data.get(self.add_prefix("email")) or "").strip(),
            exclude_pk=self.instance.pk,
        )

    def _get_validation_exclusions(self):
        # « Contact principal » moves to this contact on save: the database constraint
        # one_principal_contact_per_structure is not a form error.
        exclude = super()._get_validation_exclusions()
        exclude.add("structure")
        return exclude

    def clean_telephone(self):
        return normalize_phone(self.cleaned_data.get("telephone"))

    def clean_types(self):
        codes = self.cleaned_data.get("types") or []
        return sorted(set(codes), key=int)

    def clean(self):
        cleaned = super().clean()
        duplicates = same_name_contacts(
            cleaned.get("structure"),
            cleaned.get("nom", ""),
            cleaned.get("prenom", ""),
            cleaned.get("email", ""),
            exclude_pk=self.instance.pk,
        )
        self.duplicates = duplicates
        if duplicates and not cleaned.get("confirm_duplicate"):
            names = ", ".join(f"{c.reference} - {c}" for c in duplicates)
            message = (
                f"Un contact semblable existe déjà dans cette structure : {names}. "
                "Vérifiez qu'il ne s'agit pas de la même personne"
            )
            if "confirm_duplicate" in self.fields:
                self.add_error("confirm_duplicate", message + " ; sinon, cochez cette case.")
            else:
                self.add_error("nom", message + ", puis confirmez.")
        return cleaned

    @transaction.atomic
    def save(self, commit=True, *, user=None):
        """Saves the contact (reference, one main contact per structure) and logs it."""
        contact = super().save(commit=False)
        creating = contact.pk is None
        if creating:
            contact.reference = next_reference("C")
        if contact.is_principal:
            previous = list(
                Contact.objects.filter(structure=contact.structure, is_principal=True).exclude(pk=contact.pk)
            )
            Contact.objects.filter(pk__in=[c.pk for c in previous]).update(is_principal=False)
        else:
            previous = []
        contact.save()
        author = user or self.user
        if creating:
            details = f"Contact {contact.reference} créé : {contact}"
        else:
            changed = [str(self.fields[name].label) for name in self.changed_data if name in self.fields]
            changed = [label for label in changed if not label.startswith("Je confirme")]
            details = f"Contact {contact.reference} modifié : {contact}" + (
                f" ({', '.join(changed)})" if changed else ""
            )
        record(HistoryAction.CONTACT_CHANGED, author, structure=contact.structure, details=details)
        for old in previous:
            record(
                HistoryAction.CONTACT_CHANGED,
                author,
                structure=contact.structure,
                details=f"Contact principal : {contact.reference} - {contact} remplace {old.reference} - {old}",
            )
        return contact


class StructureContactForm(ContactForm):
    """The contact form of the structure record (C6): F7's fields plus civilité, « Contact
    principal » (the person responsible for the establishment) and « Diffusion web »."""

    class Meta(ContactForm.Meta):
        fields = [
            "structure",
            "civilite",
            "nom",
            "prenom",
            "types",
            "fonction",
            "service",
            "email",
            "telephone",
            "is_principal",
            "diffusion_web",
        ]
        labels = {"civilite": "Civilité", "is_principal": "Contact principal", "diffusion_web": "Diffusion web"}
        help_texts = {
            "telephone": "Exemple : 02 38 77 83 35",
            "is_principal": "Le contact principal doit correspondre à la personne responsable de l'établissement. "
            "Il remplace le contact principal actuel.",
            "diffusion_web": "Les coordonnées du contact peuvent être publiées sur les sites de l'offre de formation.",
        }

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("fixed_structure", True)
        super().__init__(*args, **kwargs)
        self.fields["civilite"].choices = [("", "-- Non précisée --"), *Contact._meta.get_field("civilite").choices]
        # confirm fields stay last
        for name in ("confirm_new", "confirm_duplicate"):
            if name in self.fields:
                self.fields[name] = self.fields.pop(name)

    def clean_is_principal(self):
        value = self.cleaned_data.get("is_principal")
        if self.instance.pk and self.instance.is_principal and not value:
            raise forms.ValidationError(
                "Ce contact est le contact principal de la structure. Pour en changer, cochez « Contact principal » "
                "sur la fiche de la personne responsable de l'établissement.",
                code="principal",
            )
        return value


# --- C9 documents -----------------------------------------------------------------------------


class DocumentForm(base.ModelForm):
    """A document sent to the Carif (C9): NDA certificate, quality certificate..."""

    class Meta:
        model = Document
        fields = ["fichier", "nom", "commentaire"]
        widgets = {
            "commentaire": forms.Textarea(attrs={"rows": 3}),
            "fichier": forms.FileInput(attrs={"class": "fr-upload"}),
        }
        help_texts = {"nom": "Par défaut, le nom du fichier."}

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "document")
        super().__init__(*args, **kwargs)
        formats = ", ".join(e.lstrip(".").upper() for e in DOCUMENT_EXTENSIONS)
        self.fields[
            "fichier"
        ].help_text = f"Formats acceptés : {formats}. Taille maximale : {filesizeformat(settings.UPLOAD_MAX_BYTES)}."
        self.fields["nom"].required = False

    def clean_fichier(self):
        upload = self.cleaned_data.get("fichier")
        if upload:
            validate_upload(upload)
        return upload

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("fichier")
        if upload and not cleaned.get("nom"):
            cleaned["nom"] = upload.name.rsplit("/", 1)[-1].rsplit(".", 1)[0][:200]
        return cleaned


# --- F6 lieux de formation (reused by the session screen) -------------------------------------

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
        attach_to_form(self, form_id)

    def clean_adresse(self):
        value = self.cleaned_data["adresse"]
        problem = generic_address_problem(value)
        if problem:
            raise forms.ValidationError(problem)
        return value

    def clean_code_postal(self):
        value = self.cleaned_data["code_postal"].strip()
        if not (value.isdigit() and len(value) == 5):
            raise forms.ValidationError("Le code postal comporte 5 chiffres.")
        if departement_of_postcode(value) not in settings.REGION_DEPARTEMENTS:
            where = "en France" if settings.REGION.national else f"en région {settings.REGION_NAME}"
            raise forms.ValidationError(f"Le lieu de formation doit se trouver {where}.")
        return value
