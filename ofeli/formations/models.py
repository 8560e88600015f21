"""Formations and sessions, versioned.

- ``Formation`` / ``Session`` are identities: references (2358280F / Numéro CARIF
  373847S) that never change, the organisme responsable, the source, archiving.
- ``FormationVersion`` holds the content of a formation *and of its sessions*
  (``SessionVersion`` rows with all of SPEC F). A formation's change request is one unit
  of review (G1): formation and sessions together.
- ``Formation.live_version`` is what is published. A change request works on its own
  draft version (a deep copy, see ``ofeli.workflow.versions``); the published version
  stays online, unchanged, until the Carif accepts. Accepted versions are never modified,
  so older versions stay readable.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from ofeli.referentials import lheo
from ofeli.referentials.enums import TrainingKind

from .enums import FinancementEtat, ModaliteEnseignement, Source


class Formation(models.Model):
    reference = models.CharField("référence", max_length=10, unique=True)
    structure = models.ForeignKey(
        "structures.Structure",
        on_delete=models.PROTECT,
        related_name="formations",
        verbose_name="organisme responsable",
    )
    source = models.CharField("source", max_length=20, choices=Source.choices, default=Source.OF)
    source_id = models.CharField("identifiant chez la source", max_length=100, blank=True)
    live_version = models.OneToOneField(
        "FormationVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="live_of",
        verbose_name="version publiée",
    )
    archived_at = models.DateTimeField("archivée le", null=True, blank=True)
    created_at = models.DateTimeField("création", auto_now_add=True)
    created_by = models.ForeignKey("users.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    published_at = models.DateTimeField("dernière publication", null=True, blank=True)
    link_error = models.CharField("erreur de lien site internet", max_length=250, blank=True)
    link_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "source_id"], condition=~Q(source_id=""), name="formation_source_id_unique"
            )
        ]

    def __str__(self):
        return self.reference

    @property
    def is_partner_fed(self):
        return self.source != Source.OF

    @property
    def is_archived(self):
        return self.archived_at is not None


class FormationVersion(models.Model):
    formation = models.ForeignKey(Formation, on_delete=models.CASCADE, related_name="versions")
    intitule = models.CharField("Intitulé de la formation", max_length=255)
    certification = models.ForeignKey(
        "referentials.Certification",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="formation_versions",
        verbose_name="Certification",
    )
    duree_cycle = models.PositiveSmallIntegerField("Durée cycle (années)", null=True, blank=True)
    niveau_entree = models.CharField(
        "Niveau d'entrée", max_length=3, blank=True, choices=lheo.choices(lheo.NIVEAUX, with_code=False)
    )
    niveau_sortie = models.CharField(
        "Niveau de sortie", max_length=3, blank=True, choices=lheo.choices(lheo.NIVEAUX, with_code=False)
    )
    objectif = models.TextField("Objectif", blank=True)
    contenu = models.TextField("Contenu", blank=True)
    resultats_attendus = models.TextField("Résultats attendus", blank=True)
    objectif_general = models.CharField(
        "Objectif général", max_length=2, blank=True, choices=lheo.choices(lheo.OBJECTIF_GENERAL, with_code=False)
    )
    formacodes = models.CharField("Codes Formacode", max_length=100, blank=True)
    codes_rome = models.CharField("Codes ROME", max_length=100, blank=True)
    site_web = models.URLField("Site web de la formation", max_length=400, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey("users.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = "version de formation"

    def __str__(self):
        return f"{self.formation.reference} v{self.pk} {self.intitule}"

    @property
    def certifiante(self):
        return self.certification_id is not None


class Session(models.Model):
    """Identity of a session: its reference is the « Numéro CARIF » France Travail uses."""

    reference = models.CharField("Numéro CARIF", max_length=10, unique=True)
    formation = models.ForeignKey(Formation, on_delete=models.CASCADE, related_name="sessions")
    archived_at = models.DateTimeField("archivée le", null=True, blank=True)
    source_id = models.CharField("identifiant chez la source", max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["reference"]

    def __str__(self):
        return self.reference

    @property
    def is_archived(self):
        return self.archived_at is not None


class SessionVersion(models.Model):
    """Content of one session inside one formation version (SPEC F)."""

    formation_version = models.ForeignKey(FormationVersion, on_delete=models.CASCADE, related_name="sessions")
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="versions")
    kind = models.CharField(
        "Type de formation", max_length=12, choices=TrainingKind.choices, default=TrainingKind.CONTINUE
    )
    # F2 dates
    date_debut = models.DateField("Date de début", null=True, blank=True)
    date_fin = models.DateField("Date de fin", null=True, blank=True)
    a_la_demande = models.BooleanField("Session à la demande", default=False)
    entree_sortie_permanente = models.BooleanField("Entrée-Sortie permanente", default=False)
    # F3 / F4 / F5
    autres_of_formateurs = models.TextField("Demandes spécifiques sur d'autres OF formateurs", blank=True)
    modalite_enseignement = models.CharField(
        "Modalité d'enseignement",
        max_length=1,
        choices=ModaliteEnseignement.choices,
        default=ModaliteEnseignement.PRESENTIEL,
    )
    # F8 comments
    commentaire_financement = models.TextField("Commentaire public visé", blank=True)
    conditions_prise_en_charge = models.TextField("Détail des conditions de prise en charge", blank=True)
    # F11 durations in hours
    duree_centre = models.PositiveIntegerField("Durée en centre", null=True, blank=True)
    duree_entreprise = models.PositiveIntegerField("Durée en entreprise", null=True, blank=True)
    duree_totale = models.PositiveIntegerField("Durée totale", null=True, blank=True)
    duree_hebdomadaire = models.PositiveSmallIntegerField("Durée hebdomadaire", null=True, blank=True)
    commentaire_duree = models.TextField("Commentaire durée", blank=True)
    # F12
    prerequis = models.TextField("Pré-requis", blank=True)
    type_parcours = models.CharField(
        "Type de parcours", max_length=2, blank=True, choices=lheo.choices(lheo.TYPE_PARCOURS)
    )
    rythme = models.CharField("Rythmes", max_length=3, blank=True)
    commentaire_rythme = models.TextField("Commentaire rythme", blank=True)
    modalites_pedagogiques = models.JSONField("Modalités pédagogiques", default=list, blank=True)
    commentaire_modalites_pedagogiques = models.TextField("Commentaire modalités pédagogiques", blank=True)
    commentaire_session = models.TextField("Commentaire session", blank=True)
    # F13
    lieu_inscription = models.ForeignKey(
        "structures.Lieu",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="Lieu d'inscription",
    )
    contact_inscription = models.ForeignKey(
        "structures.Contact",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="Contact d'inscription",
    )
    debut_inscription = models.DateField("Début d'inscription", null=True, blank=True)
    fin_inscription = models.DateField("Fin d'inscription", null=True, blank=True)
    commentaire_inscription = models.TextField("Commentaire inscription", blank=True)
    # F14
    hebergement = models.TextField("Hébergement", blank=True)
    restauration = models.TextField("Restauration", blank=True)
    transport = models.TextField("Transport", blank=True)
    acces_handicapes = models.TextField("Accessibilité aux personnes handicapées", blank=True)

    class Meta:
        ordering = ["date_debut", "session__reference"]
        verbose_name = "version de session"
        constraints = [
            models.UniqueConstraint(fields=["formation_version", "session"], name="session_once_per_version"),
            models.CheckConstraint(
                condition=Q(date_fin__isnull=True)
                | Q(date_debut__isnull=True)
                | Q(date_fin__gte=models.F("date_debut")),
                name="session_dates_ordered",
            ),
        ]
        # The quality dashboard's counts (Q4) read session dates by formation version and by
        # end date in these indexes only (covering on PostgreSQL): docs/benchmarks.md.
        indexes = [
            models.Index(
                fields=["formation_version", "date_fin"],
                include=["session", "entree_sortie_permanente"],
                name="sessionversion_version_end",
            ),
            models.Index(fields=["date_fin"], include=["formation_version", "session"], name="sessionversion_end"),
        ]

    def __str__(self):
        return f"{self.session.reference}"

    def save(self, *args, **kwargs):
        self.duree_totale = self.compute_total()
        super().save(*args, **kwargs)

    def compute_total(self):
        if self.duree_centre is None and self.duree_entreprise is None:
            return None
        return (self.duree_centre or 0) + (self.duree_entreprise or 0)


def session_version_fk(related_name):
    """Each row below belongs to one session version and is copied with it."""
    return models.ForeignKey(SessionVersion, on_delete=models.CASCADE, related_name=related_name)


class SessionTrainer(models.Model):
    """Organisme formateur (F3); exactly one is principal when the session is submitted."""

    session_version = session_version_fk("trainers")
    structure = models.ForeignKey("structures.Structure", on_delete=models.PROTECT, related_name="+")
    is_principal = models.BooleanField("Principal", default=False)

    class Meta:
        ordering = ["-is_principal", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["session_version", "structure"], name="trainer_once_per_session"),
            models.UniqueConstraint(
                fields=["session_version"], condition=Q(is_principal=True), name="one_principal_trainer"
            ),
        ]


class SessionPlace(models.Model):
    """Lieu de formation (F6)."""

    session_version = session_version_fk("places")
    lieu = models.ForeignKey("structures.Lieu", on_delete=models.PROTECT, related_name="+")
    is_principal = models.BooleanField("Principal", default=False)

    class Meta:
        ordering = ["-is_principal", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["session_version", "lieu"], name="place_once_per_session"),
            models.UniqueConstraint(
                fields=["session_version"], condition=Q(is_principal=True), name="one_principal_place"
            ),
        ]


class SessionContact(models.Model):
    """Contact de session (F7)."""

    session_version = session_version_fk("contacts")
    contact = models.ForeignKey("structures.Contact", on_delete=models.PROTECT, related_name="+")
    type_contact = models.CharField("Type", max_length=3, blank=True, choices=lheo.choices(lheo.TYPE_CONTACT))
    is_principal = models.BooleanField("Principal", default=False)

    class Meta:
        ordering = ["-is_principal", "pk"]


class Financement(models.Model):
    """Financement de la session (F8)."""

    session_version = session_version_fk("financements")
    dispositif = models.ForeignKey("referentials.Dispositif", on_delete=models.PROTECT, verbose_name="Dispositif")
    financeur = models.ForeignKey("referentials.Financeur", on_delete=models.PROTECT, verbose_name="Financeur")
    etat = models.CharField("État", max_length=2, choices=FinancementEtat.choices, default=FinancementEtat.DIFFUSION)
    etat_recrutement = models.CharField(
        "État recrutement", max_length=1, choices=lheo.choices(lheo.ETAT_RECRUTEMENT), default="1"
    )
    numero_marche = models.CharField("N° marché", max_length=50, blank=True)
    nb_places = models.PositiveIntegerField("Nb places", null=True, blank=True)

    class Meta:
        ordering = ["pk"]

    def clean(self):
        if self.dispositif_id and self.financeur_id and self.dispositif.financeur_id != self.financeur_id:
            raise ValidationError({"dispositif": "Cette mesure n'appartient pas au financeur choisi."})


class Cycle(models.Model):
    """Cycles de l'alternance (F9)."""

    session_version = session_version_fk("cycles")
    annee = models.PositiveSmallIntegerField("Année cycle")
    type_cycle = models.CharField("Type de cycle", max_length=1, choices=lheo.choices(lheo.TYPE_CYCLE))
    type_alternance = models.CharField("Type d'alternance", max_length=1, choices=lheo.choices(lheo.TYPE_ALTERNANCE))

    class Meta:
        ordering = ["annee"]
        constraints = [models.UniqueConstraint(fields=["session_version", "annee"], name="cycle_year_once")]


class SessionBlocs(models.Model):
    """Blocs de compétences of a session (F10)."""

    session_version = session_version_fk("blocs")
    certification = models.ForeignKey("referentials.Certification", on_delete=models.PROTECT, related_name="+")
    type_validation = models.CharField(
        "Type de validation", max_length=1, choices=lheo.choices(lheo.TYPE_VALIDATION_BLOCS)
    )
    blocs = models.ManyToManyField("referentials.BlocCompetences", verbose_name="Blocs de compétences")

    class Meta:
        ordering = ["pk"]


class Equipement(models.Model):
    """Équipements (F12)."""

    session_version = session_version_fk("equipements")
    type_equipement = models.CharField("Type", max_length=2, choices=lheo.choices(lheo.TYPE_EQUIPEMENT))
    cout_indicatif = models.DecimalField("Coût indicatif", max_digits=9, decimal_places=2, null=True, blank=True)
    commentaire = models.CharField("Commentaire", max_length=500, blank=True)

    class Meta:
        ordering = ["pk"]


class RecruitmentSlot(models.Model):
    """Modalités de recrutement (F13): a recruitment modality, dated or not."""

    session_version = session_version_fk("recruitment_slots")
    modalite = models.CharField("Modalité de recrutement", max_length=2, choices=lheo.recruitment_modality_choices())
    date = models.DateField("Date", null=True, blank=True)
    heure_debut = models.TimeField("Horaire début", null=True, blank=True)
    heure_fin = models.TimeField("Horaire fin", null=True, blank=True)
    nb_places = models.PositiveIntegerField("Nombre de places", null=True, blank=True)
    lien_web = models.URLField("Lien web", max_length=400, blank=True)
    commentaire = models.TextField("Commentaire", blank=True)
    perimetre = models.CharField(
        "Périmètre de recrutement", max_length=1, blank=True, choices=lheo.choices(lheo.PERIMETRE_RECRUTEMENT)
    )
    commentaire_perimetre = models.TextField("Commentaire périmètre de recrutement", blank=True)
    a_distance = models.BooleanField("À distance", default=False)
    lieu = models.ForeignKey(
        "structures.Lieu", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="Adresse"
    )
    structure = models.ForeignKey(
        "structures.Structure", on_delete=models.PROTECT, related_name="+", verbose_name="Nom de la structure"
    )

    class Meta:
        ordering = ["date", "heure_debut", "pk"]


# Children copied with a session version, in dependency order (see workflow.versions).
SESSION_CHILD_MODELS = [
    SessionTrainer,
    SessionPlace,
    SessionContact,
    Financement,
    Cycle,
    SessionBlocs,
    Equipement,
    RecruitmentSlot,
]
