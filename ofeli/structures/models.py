"""Structures (organismes de formation), their contacts, places and documents.

A structure is split in two, like a formation:
- ``Structure`` is its identity: reference (23470P), national identifiers, name, type,
  state, parent. Only Carif staff change those (C3, C5), directly, with a history entry.
- ``StructureVersion`` is the content the OF edits through a change request (coordonnées,
  labels / qualités). ``Structure.live_version`` is the published one; an open change
  request holds a draft version; accepting it moves ``live_version`` (workflow app).

Contacts and lieux are an address book of the structure: they are created on the spot
(« Sauvegarder et choisir ») so that sessions can use them, and every change is logged.
"""

from django.db import models
from django.db.models import Q

from ofeli.core.identifiers import nda_is_in_region, siren_of, validate_nda, validate_siret, validate_uai


class Address(models.Model):
    """A postal address with its geolocation (BAN)."""

    adresse = models.CharField("numéro et voie", max_length=250, blank=True)
    complement = models.CharField("complément d'adresse", max_length=250, blank=True)
    code_postal = models.CharField("code postal", max_length=5, blank=True)
    ville = models.CharField("ville", max_length=100, blank=True)
    code_insee = models.CharField("code INSEE", max_length=5, blank=True)
    latitude = models.DecimalField("latitude", max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField("longitude", max_digits=9, decimal_places=6, null=True, blank=True)
    saisie_manuelle = models.BooleanField("Saisie manuelle", default=False)

    class Meta:
        abstract = True

    @property
    def departement(self):
        cp = self.code_insee or self.code_postal
        if not cp:
            return ""
        return cp[:3] if cp.startswith("97") else cp[:2]

    @property
    def full_address(self):
        parts = [self.adresse, self.complement, f"{self.code_postal} {self.ville}".strip()]
        return " ".join(p for p in parts if p)


class Structure(models.Model):
    reference = models.CharField("référence", max_length=10, unique=True)
    siret = models.CharField("SIRET", max_length=14, blank=True, db_index=True, validators=[validate_siret])
    siren = models.CharField("SIREN", max_length=9, blank=True, db_index=True)
    nda = models.CharField("N° déclaration d'activité", max_length=11, blank=True, validators=[validate_nda])
    uai = models.CharField("UAI", max_length=8, blank=True, validators=[validate_uai])
    raison_sociale = models.CharField("raison sociale", max_length=250)
    nom = models.CharField("nom", max_length=250)
    type = models.ForeignKey(
        "referentials.StructureType", on_delete=models.PROTECT, null=True, blank=True, verbose_name="type"
    )
    etat = models.ForeignKey(
        "referentials.StructureState", on_delete=models.PROTECT, null=True, blank=True, verbose_name="état"
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="children",
        verbose_name="structure parente",
    )
    reseau = models.CharField("réseau", max_length=100, blank=True)
    live_version = models.OneToOneField(
        "StructureVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="live_of",
        verbose_name="version publiée",
    )
    # Where the structure was created and last changed by an OF user / by the Carif (C9).
    created_at = models.DateTimeField("création", auto_now_add=True)
    created_by = models.ForeignKey("users.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    admin_updated_at = models.DateTimeField("mise à jour Admin", null=True, blank=True)
    admin_updated_by = models.ForeignKey(
        "users.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    of_updated_at = models.DateTimeField("mise à jour SAD", null=True, blank=True)
    of_updated_by = models.ForeignKey("users.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    link_error = models.CharField("erreur de lien", max_length=250, blank=True)

    class Meta:
        ordering = ["nom"]
        verbose_name = "structure"

    def __str__(self):
        return f"{self.reference} - {self.nom}"

    def save(self, *args, **kwargs):
        if self.siret:
            self.siren = siren_of(self.siret)
        super().save(*args, **kwargs)

    @property
    def nda_in_region(self):
        return nda_is_in_region(self.nda)


class StructureVersion(Address):
    """Content of a structure record that the OF edits (C4, C7); immutable once published."""

    structure = models.ForeignKey(Structure, on_delete=models.CASCADE, related_name="versions")
    telephone = models.CharField("téléphone principal", max_length=20, blank=True)
    telephone_secondaire = models.CharField("autre téléphone", max_length=20, blank=True)
    email = models.EmailField("e-mail principal", blank=True)
    site_web = models.URLField("site web", max_length=400, blank=True)
    labels = models.ManyToManyField("referentials.Label", blank=True, verbose_name="conventions / labels / qualités")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey("users.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = "version de fiche organisme"

    def __str__(self):
        return f"{self.structure.reference} v{self.pk}"


class Contact(models.Model):
    """A person of a structure (C6). Types are LHEO's « type de contact » codes."""

    reference = models.CharField("Réf", max_length=10, unique=True)
    structure = models.ForeignKey(Structure, on_delete=models.CASCADE, related_name="contacts")
    civilite = models.CharField("civilité", max_length=10, blank=True, choices=[("M.", "M."), ("Mme", "Mme")])
    nom = models.CharField("Nom", max_length=100)
    prenom = models.CharField("Prénom", max_length=100, blank=True)
    types = models.JSONField("Types de contact", default=list, blank=True)
    fonction = models.CharField("Fonction", max_length=150, blank=True)
    service = models.CharField("Service", max_length=150, blank=True)
    email = models.EmailField("Email", blank=True)
    telephone = models.CharField("Téléphone", max_length=20, blank=True)
    is_principal = models.BooleanField("Contact principal", default=False)
    diffusion_web = models.BooleanField("Diffusion web", default=False)
    user = models.ForeignKey(
        "users.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contacts",
        verbose_name="compte OFeli",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["nom", "prenom"]
        constraints = [
            models.UniqueConstraint(
                fields=["structure"], condition=Q(is_principal=True), name="one_principal_contact_per_structure"
            )
        ]

    def __str__(self):
        return f"{self.prenom} {self.nom}".strip()


class Lieu(Address):
    """A place of training or registration (F6), owned by a structure."""

    reference = models.CharField("référence", max_length=10, unique=True)
    structure = models.ForeignKey(Structure, on_delete=models.CASCADE, related_name="lieux")
    nom = models.CharField("Nom", max_length=250)
    siret = models.CharField("SIRET du lieu", max_length=14, blank=True, validators=[validate_siret])
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey("users.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["nom", "ville"]
        verbose_name = "lieu de formation"
        verbose_name_plural = "lieux de formation"

    def __str__(self):
        return f"{self.nom} - {self.full_address}"


def document_upload_path(instance, filename):
    return f"structures/{instance.structure.reference}/documents/{filename}"


class Document(models.Model):
    """A document an OF sends to the Carif (C9 « Documents »)."""

    structure = models.ForeignKey(Structure, on_delete=models.CASCADE, related_name="documents")
    fichier = models.FileField("Fichier", upload_to=document_upload_path)
    nom = models.CharField("Nom", max_length=200)
    commentaire = models.TextField("Commentaire", blank=True)
    uploaded_by = models.ForeignKey("users.User", null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
