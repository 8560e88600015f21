from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models

from ofeli.core.identifiers import validate_nda, validate_siret

from .enums import AccountRequestStatus, Role


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **extra):
        email = self.normalize_email(email).lower()
        user = self.model(email=email, **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("role", Role.SUPERVISEUR)
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractUser):
    """Login is the e-mail address. ``role`` says whether the person works for an OF or
    for the Carif (gestionnaire, superviseur)."""

    username = None
    email = models.EmailField("adresse e-mail", unique=True)
    phone = models.CharField("téléphone", max_length=20, blank=True)
    role = models.CharField("rôle", max_length=12, choices=Role.choices, default=Role.OF)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []
    objects = UserManager()

    class Meta:
        ordering = ["last_name", "first_name"]
        verbose_name = "utilisateur"

    def __str__(self):
        return self.get_full_name() or self.email

    @property
    def is_carif(self):
        return self.role in (Role.GESTIONNAIRE, Role.SUPERVISEUR)

    @property
    def is_superviseur(self):
        return self.role == Role.SUPERVISEUR

    @property
    def display_name(self):
        name = self.get_full_name() or self.email
        if self.is_carif:
            return f"{name} {self.get_role_display().split()[0]}"
        return name


class Membership(models.Model):
    """Rights of an OF user on a structure (« droits de saisie »)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    structure = models.ForeignKey("structures.Structure", on_delete=models.CASCADE, related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "structure"], name="membership_unique")]


def nda_upload_path(instance, filename):
    return f"account-requests/{instance.siret}/{filename}"


class AccountRequest(models.Model):
    """« Créer mon compte » (A2), processed by the Carif (A3)."""

    siret = models.CharField("SIRET de l'établissement", max_length=14, validators=[validate_siret])
    nda = models.CharField("numéro de déclaration d'activité", max_length=11, validators=[validate_nda])
    last_name = models.CharField("nom", max_length=100)
    first_name = models.CharField("prénom", max_length=100)
    phone = models.CharField("téléphone", max_length=20)
    email = models.EmailField("adresse e-mail")
    nda_file = models.FileField("fichier de déclaration d'activité", upload_to=nda_upload_path, blank=True)
    convention_file = models.FileField(
        "convention de formation",
        upload_to=nda_upload_path,
        blank=True,
        help_text="Obligatoire pour un organisme déclaré hors de la région de l'instance.",
    )
    consent_at = models.DateTimeField("consentement à la politique de données personnelles")
    status = models.CharField(
        "état", max_length=10, choices=AccountRequestStatus.choices, default=AccountRequestStatus.PENDING
    )
    refusal_reason = models.TextField("motif du refus", blank=True)
    structure = models.ForeignKey(
        "structures.Structure",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="account_requests",
    )
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    processed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="processed_account_requests"
    )
    processed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        verbose_name = "demande de compte"
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self):
        return f"{self.first_name} {self.last_name} ({self.siret})"
