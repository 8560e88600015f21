from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm, SetPasswordForm
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from ofeli.core import forms as base
from ofeli.core.identifiers import nda_is_in_region, validate_nda, validate_siret
from ofeli.core.uploads import PROOF_EXTENSIONS, validate_upload
from ofeli.structures.models import Structure

from .models import AccountRequest


class AccountRequestForm(base.ModelForm):
    """« Créer mon compte » (A2)."""

    siret = forms.CharField(
        label="SIRET de l'établissement de formation",
        max_length=20,
        help_text="14 chiffres, sans espace. L'établissement doit être actif.",
    )
    nda = forms.CharField(
        label="Numéro de déclaration d'activité",
        max_length=20,
        help_text="11 chiffres, fourni par la DREETS.",
    )
    consent = forms.BooleanField(
        label="J'accepte la politique de gestion des données personnelles",
        error_messages={"required": "Vous devez accepter la politique de gestion des données personnelles."},
    )

    class Meta:
        model = AccountRequest
        fields = ["siret", "nda", "last_name", "first_name", "phone", "email", "nda_file", "convention_file"]
        labels = {
            "last_name": "Nom du contact référent",
            "first_name": "Prénom du contact référent",
            "phone": "Téléphone du contact référent",
            "email": "Adresse e-mail du contact référent",
            "nda_file": "Fichier de déclaration d'activité (facultatif)",
            "convention_file": "Convention de formation (organisme hors région)",
        }
        help_texts = {
            "email": "Elle servira d'identifiant de connexion.",
            "nda_file": "PDF, PNG ou JPG, 5 Mo maximum.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        region = settings.REGION  # S2: read when the form is made (tests switch the region)
        self.fields["convention_file"].help_text = (
            f"Obligatoire si votre organisme n'est pas déclaré auprès de {region.nda_authority} : copie de la "
            f"convention de formation précisant un lieu de formation en présentiel {region.in_name}."
        )
        self.fields["consent"].label = mark_safe(
            f'J\'accepte la <a href="{reverse("personal_data")}" target="_blank" rel="noopener" '
            'title="Politique de gestion des données personnelles - nouvelle fenêtre">politique de gestion des '
            "données personnelles</a> de OFeli et j'ai informé la personne référente de cette politique."
        )
        # The DSFR base form has already made the bound fields, whose label is a copy (issue 10:
        # the link never showed).
        self["consent"].label = self.fields["consent"].label
        self["convention_file"].help_text = self.fields["convention_file"].help_text

    def clean_siret(self):
        return validate_siret(self.cleaned_data["siret"])

    def clean_nda(self):
        return validate_nda(self.cleaned_data["nda"])

    def clean_email(self):
        # An existing account is not an error shown here (K1, no enumeration): see
        # services.request_account.
        return self.cleaned_data["email"].strip().lower()

    def _clean_proof(self, name):
        """A refused file is not kept (users/kept_uploads.py): the message says to choose
        another one, in the error summary and next to the field (issue 10)."""
        upload = self.cleaned_data.get(name)
        if not upload:
            return upload
        try:
            return validate_upload(upload, PROOF_EXTENSIONS)
        except forms.ValidationError as error:
            raise forms.ValidationError(
                f"{' '.join(error.messages)} Ce fichier n'est pas conservé : choisissez à nouveau un fichier.",
                code=error.error_list[0].code,
            ) from None

    def clean_nda_file(self):
        return self._clean_proof("nda_file")

    def clean_convention_file(self):
        return self._clean_proof("convention_file")

    def clean(self):
        cleaned = super().clean()
        nda = cleaned.get("nda")
        if nda and not nda_is_in_region(nda) and not cleaned.get("convention_file"):
            self.add_error(
                "convention_file",
                f"Votre organisme est déclaré hors région {settings.REGION.name} : joignez la convention de "
                "formation précisant un lieu de formation en présentiel dans la région.",
            )
        return cleaned

    def save(self, commit=True):
        self.instance.consent_at = timezone.now()
        return super().save(commit)


class AcceptAccountForm(base.Form):
    """What the Carif completes when accepting a request (A3). The structure is looked up
    by SIRET first, so that no duplicate structure is created."""

    raison_sociale = forms.CharField(label="Raison sociale", max_length=250)
    nom = forms.CharField(label="Nom de la structure", max_length=250)

    def __init__(self, *args, account_request, **kwargs):
        self.account_request = account_request
        self.existing = Structure.objects.filter(siret=account_request.siret).first()
        super().__init__(*args, **kwargs)
        if self.existing:
            for name in ("raison_sociale", "nom"):
                self.fields[name].required = False
                self.fields[name].disabled = True
                self.fields[name].initial = getattr(self.existing, name)


class RefuseAccountForm(base.Form):
    reason = forms.CharField(label="Motif du refus (envoyé au demandeur)", widget=forms.Textarea(attrs={"rows": 4}))


class LoginForm(base.DsfrContextMixin, AuthenticationForm, base.DsfrBaseForm):
    username = forms.EmailField(
        label="Adresse e-mail", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )
    password = forms.CharField(
        label="Mot de passe", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    error_messages = {
        "invalid_login": "Adresse e-mail ou mot de passe incorrect.",
        "inactive": "Ce compte est désactivé.",
    }


class ChoosePasswordForm(base.DsfrContextMixin, SetPasswordForm, base.DsfrBaseForm):
    """A4: choose and confirm the password (8 characters, one capital, one special character)."""

    new_password1 = forms.CharField(
        label="Mot de passe",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Il doit contenir 8 caractères minimum dont un caractère majuscule et un caractère spécial.",
    )
    new_password2 = forms.CharField(
        label="Confirmation du mot de passe",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    error_messages = {"password_mismatch": "Les deux mots de passe ne sont pas identiques."}

    def clean(self):
        self.validate_passwords("new_password1", "new_password2")
        self.validate_password_for_user(self.user, "new_password1")
        return self.cleaned_data


class ResetRequestForm(base.DsfrContextMixin, PasswordResetForm, base.DsfrBaseForm):
    email = forms.EmailField(
        label="Adresse e-mail", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )

    def send_mail(self, subject_template_name, email_template_name, context, *args, **kwargs):
        """R4: the mail is recorded and sent in the background; its link is made when it is
        sent (``services.password_reset_body``), so no reset token is ever stored."""
        from django.template.loader import render_to_string

        from .services import send_password_reset_mail

        subject = "".join(render_to_string(subject_template_name, context).splitlines())
        send_password_reset_mail(context["user"], subject)
