"""Referentials: the tables the superviseur keeps (structure types and states,
financeurs and their dispositifs / mesures, labels, certifications)."""

from django.db import models

from .enums import CertificationState, EnteredBy, LabelKind, TrainingKind


class StructureType(models.Model):
    code = models.CharField("code", max_length=10, unique=True)
    libelle = models.CharField("libellé", max_length=200)

    class Meta:
        ordering = ["code"]
        verbose_name = "type de structure"

    def __str__(self):
        return f"{self.code} - {self.libelle}"


class StructureState(models.Model):
    code = models.CharField("code", max_length=10, unique=True)
    libelle = models.CharField("libellé", max_length=200)
    is_diffused = models.BooleanField(
        "diffusée", default=False, help_text="Les structures dans cet état sont publiées."
    )

    class Meta:
        ordering = ["code"]
        verbose_name = "état de structure"

    def __str__(self):
        return f"{self.code} - {self.libelle}"


class Financeur(models.Model):
    code = models.CharField("code", max_length=10, unique=True)
    libelle = models.CharField("libellé", max_length=200)
    lheo_code = models.CharField("code financeur LHEO", max_length=3)
    is_public = models.BooleanField("fonds publics", default=False)

    class Meta:
        ordering = ["libelle"]
        verbose_name = "financeur"

    def __str__(self):
        return f"{self.code} - {self.libelle}"


class Dispositif(models.Model):
    """A financing scheme (« mesure » / « dispositif ») of a financeur (F8)."""

    code = models.CharField("code", max_length=10, unique=True)
    libelle = models.CharField("libellé", max_length=200)
    financeur = models.ForeignKey(Financeur, on_delete=models.PROTECT, related_name="dispositifs")
    entered_by = models.CharField("saisie", max_length=5, choices=EnteredBy.choices)
    training_kind = models.CharField(
        "type de formation", max_length=12, choices=TrainingKind.choices, default=TrainingKind.CONTINUE
    )
    is_public_funds = models.BooleanField("fonds publics", default=False)
    publics_vises = models.CharField(
        "codes public visé (Formacode)",
        max_length=60,
        blank=True,
        help_text="Codes Formacode « public visé » des sessions financées par ce dispositif, séparés par des espaces "
        "(ex. 80006 pour Demandeur d'emploi) ; exportés en LHEO (code-public-vise).",
    )
    is_apprenticeship = models.BooleanField(
        "contrat d'apprentissage",
        default=False,
        help_text="Les sessions financées par ce dispositif sont des sessions en apprentissage (F7, F9).",
    )
    is_active = models.BooleanField("actif", default=True)

    class Meta:
        ordering = ["libelle"]
        verbose_name = "dispositif"

    def __str__(self):
        return f"{self.code} - {self.libelle}"


class Label(models.Model):
    kind = models.CharField("type", max_length=12, choices=LabelKind.choices)
    code = models.CharField("code", max_length=10)
    libelle = models.CharField("libellé", max_length=200)

    class Meta:
        ordering = ["kind", "libelle"]
        constraints = [models.UniqueConstraint(fields=["kind", "code"], name="label_kind_code_unique")]

    def __str__(self):
        return f"{self.code} - {self.libelle}"


class Certification(models.Model):
    """A certification of the RNCP or the Répertoire spécifique, as Certifinfo describes it."""

    code_certifinfo = models.CharField("code Certifinfo", max_length=10, unique=True)
    intitule = models.CharField("intitulé", max_length=500)
    sigle = models.CharField("sigle", max_length=50, blank=True)
    code_rncp = models.CharField("code RNCP", max_length=10, blank=True, db_index=True)
    code_rs = models.CharField("code RS", max_length=10, blank=True, db_index=True)
    code_scolarite = models.CharField("code scolarité", max_length=12, blank=True)
    acces_apprentissage = models.BooleanField("accès apprentissage", default=False)
    valideurs = models.TextField("valideurs", blank=True)
    niveau_sortie = models.CharField("niveau de sortie (code LHEO)", max_length=3, blank=True)
    premiere_session = models.PositiveSmallIntegerField("première session", null=True, blank=True)
    derniere_session = models.PositiveSmallIntegerField("dernière session", null=True, blank=True)
    date_fin_enregistrement = models.DateField("date fin enregistrement", null=True, blank=True)
    date_effet = models.DateField("date d'effet", null=True, blank=True)
    etat = models.CharField(
        "état", max_length=1, choices=CertificationState.choices, default=CertificationState.PUBLISHED
    )
    objectif = models.TextField("objectif", blank=True)
    contenu = models.TextField("contenu", blank=True)
    codes_nsf = models.CharField("codes NSF", max_length=100, blank=True)
    codes_rome = models.CharField("codes ROME", max_length=200, blank=True)
    formacodes = models.CharField("codes Formacode", max_length=100, blank=True)
    replaced_by = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="replaces",
        verbose_name="remplacée par",
    )
    search_text = models.TextField(editable=False, blank=True)

    class Meta:
        ordering = ["intitule"]
        verbose_name = "certification"

    def __str__(self):
        return f"{self.code_certifinfo} - {self.intitule}"

    def save(self, *args, **kwargs):
        self.search_text = self.search_text_of(self.__dict__)
        super().save(*args, **kwargs)

    @staticmethod
    def search_text_of(values):
        """What the certification search (E2) matches: label, acronym and codes, folded.
        Bulk writes, which skip save(), call it on their values."""
        from ofeli.core.text import normalize_search

        fields = ("intitule", "sigle", "code_rncp", "code_rs", "code_certifinfo")
        return normalize_search(" ".join(values.get(name) or "" for name in fields))

    @property
    def france_competences_url(self):
        if self.code_rncp:
            return f"https://www.francecompetences.fr/recherche/rncp/{self.code_rncp}/"
        if self.code_rs:
            return f"https://www.francecompetences.fr/recherche/rs/{self.code_rs}/"
        return ""


class BlocCompetences(models.Model):
    certification = models.ForeignKey(Certification, on_delete=models.CASCADE, related_name="blocs")
    code = models.CharField("code", max_length=30)
    libelle = models.CharField("libellé", max_length=500)

    class Meta:
        ordering = ["certification", "code"]
        verbose_name = "bloc de compétences"
        verbose_name_plural = "blocs de compétences"
        constraints = [models.UniqueConstraint(fields=["certification", "code"], name="bloc_certification_code_unique")]

    def __str__(self):
        return f"{self.code} - {self.libelle}"
