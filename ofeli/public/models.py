"""Read model of the public site « Formation Centre-Val de Loire » (SPEC H1).

The published offer lives in versioned tables (``ofeli.formations``); searching it there
means many joins. The public site searches a denormalised copy instead, rebuilt for the
formations concerned each time the published offer may change (``indexing.py``):

- ``PublishedFormation``: one row per published formation that has at least one published
  session, with its words (``search_text``: normalised light stems, used on SQLite;
  ``search_vector``: weighted tsvector, ``ofeli_fr`` configuration = french + unaccent, with
  a GIN index, used on PostgreSQL).
- ``PublishedSession``: one row per published session not finished yet, with everything the filters, the facet
  counts and the result list need (dates, modality, place and its coordinates, financing
  kinds, certification), so that counting and paging read a single table.
- ``Commune``: the towns of the region with their coordinates (``data/``), for the place
  search.

Nothing here is ever edited by hand: ``manage.py rebuild_public_index`` rebuilds it all.
"""

from django.contrib.postgres.search import SearchVectorField
from django.db import models


class Commune(models.Model):
    code_insee = models.CharField("code INSEE", max_length=5, primary_key=True)
    nom = models.CharField("nom", max_length=100)
    nom_normalise = models.CharField(max_length=100, db_index=True)
    departement = models.CharField("département", max_length=3)
    codes_postaux = models.CharField("codes postaux", max_length=200)  # Paris: 20 postcodes (125 characters)
    latitude = models.FloatField()
    longitude = models.FloatField()
    precision = models.CharField(
        "origine des coordonnées",
        max_length=12,
        help_text="geonames : position du lieu ; code_postal / epci : position moyenne des communes voisines.",
    )
    population = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["nom"]
        verbose_name = "commune"

    def __str__(self):
        return self.label

    @property
    def postcodes(self):
        return self.codes_postaux.split()

    @property
    def label(self):
        """« Châteauroux (36000) »: what the town field shows and accepts."""
        return f"{self.nom} ({self.postcodes[0]})" if self.codes_postaux else self.nom

    def labels(self):
        return [f"{self.nom} ({cp})" for cp in self.postcodes] or [self.nom]

    @property
    def approximate(self):
        return self.precision != "geonames"


class PublishedFormation(models.Model):
    formation = models.OneToOneField(
        "formations.Formation", primary_key=True, on_delete=models.CASCADE, related_name="public_entry"
    )
    reference = models.CharField(max_length=10, unique=True)
    slug = models.SlugField(max_length=80)
    intitule = models.CharField(max_length=255)
    structure = models.ForeignKey("structures.Structure", on_delete=models.CASCADE, related_name="+")
    organisme = models.CharField(max_length=250)
    certification = models.ForeignKey(
        "referentials.Certification", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    certification_intitule = models.CharField(max_length=500, blank=True)
    code_rncp = models.CharField(max_length=10, blank=True)
    code_rs = models.CharField(max_length=10, blank=True)
    niveau = models.CharField(max_length=3, blank=True)
    # Words: title (weight A), certification, organisme and codes (B), objectives and content (C).
    title_text = models.CharField(max_length=400, blank=True)
    keywords = models.TextField(blank=True)
    body = models.TextField(blank=True)
    search_text = models.TextField(blank=True)
    search_vector = SearchVectorField(null=True)
    updated_at = models.DateTimeField(null=True)
    session_count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "formation publiée (index)"

    def __str__(self):
        return f"{self.reference} {self.intitule}"


class PublishedSession(models.Model):
    session = models.OneToOneField(
        "formations.Session", primary_key=True, on_delete=models.CASCADE, related_name="public_entry"
    )
    # DO_NOTHING: the index deletes sessions before formations, in bulk (indexing.py).
    formation = models.ForeignKey(PublishedFormation, on_delete=models.DO_NOTHING, related_name="sessions")
    numero_carif = models.CharField("Numéro CARIF", max_length=10)
    date_debut = models.DateField(null=True)
    date_fin = models.DateField(null=True)
    a_la_demande = models.BooleanField(default=False)
    entree_sortie_permanente = models.BooleanField(default=False)
    modalite = models.CharField(max_length=1)
    kind = models.CharField(max_length=12)
    duree_totale = models.PositiveIntegerField(null=True)
    # Registration (P1): the status is computed from these at query time (status.py).
    debut_inscription = models.DateField(null=True)
    fin_inscription = models.DateField(null=True)
    recrutement = models.CharField(max_length=6, blank=True)  # status.recrutement_of: ouvert | ferme | ""
    # Principal place of training.
    lieu = models.ForeignKey("structures.Lieu", null=True, on_delete=models.SET_NULL, related_name="+")
    ville = models.CharField(max_length=100, blank=True)
    code_postal = models.CharField(max_length=5, blank=True)
    code_insee = models.CharField(max_length=5, blank=True)
    departement = models.CharField(max_length=3, blank=True, db_index=True)
    latitude = models.FloatField(null=True, db_index=True)
    longitude = models.FloatField(null=True, db_index=True)
    # Financing kinds (financing.py), one column each so that counting stays a single scan.
    fin_france_travail = models.BooleanField(default=False)
    fin_region = models.BooleanField(default=False)
    fin_cpf = models.BooleanField(default=False)
    fin_apprentissage = models.BooleanField(default=False)
    fin_professionnalisation = models.BooleanField(default=False)
    fin_individuel = models.BooleanField(default=False)
    fin_scolaire = models.BooleanField(default=False)
    # Certification of the formation, repeated here for filtering and counting.
    certification_type = models.CharField(max_length=5, blank=True)  # rncp | rs | ""
    code_rncp = models.CharField(max_length=10, blank=True, db_index=True)
    code_rs = models.CharField(max_length=10, blank=True, db_index=True)
    niveau = models.CharField(max_length=3, blank=True)
    # Every facet value of the row packed in one integer (search.facet_key): counting the
    # facets is one GROUP BY on it.
    facets = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "session publiée (index)"
        indexes = [
            models.Index(fields=["date_debut", "numero_carif"], name="pubsession_start"),
            models.Index(fields=["date_fin"], name="pubsession_end"),
            # S3: the remote sessions match every place (P2); with this small partial index the
            # place filter (box OR remote) is a BitmapOr of indexes instead of a full scan.
            models.Index(fields=["date_fin"], condition=models.Q(modalite="2"), name="pubsession_remote"),
        ]

    def __str__(self):
        return self.numero_carif


class SearchWord(models.Model):
    """The words of the published titles and certifications (P2 « Vouliez-vous dire … ? »):
    ``word`` folded (lower case, no accent), ``display`` as written. Trigram GIN index on
    PostgreSQL (pg_trgm, migration 0006); on SQLite the candidates are compared in Python
    (spelling.py). Rebuilt with the index (indexing.py)."""

    word = models.CharField(max_length=60, primary_key=True)
    display = models.CharField(max_length=60)
    length = models.PositiveSmallIntegerField(db_index=True)

    class Meta:
        verbose_name = "mot de l'index"

    def __str__(self):
        return self.display


class IndexState(models.Model):
    """One row: the generation of the index, increased by every rebuild (indexing.py) in the
    same transaction as the rows it changes. A ``SearchSnapshot`` is used only while it is
    of the current generation, so a snapshot computed from rows that a rebuild has since
    changed is never shown (S3)."""

    generation = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = "état de l'index"


class SearchSnapshot(models.Model):
    """The page without criteria, pre-aggregated (S3, snapshot.py): for one day and one
    generation of the index, the number of sessions and of each facet option (``tallies``:
    {"total": n, group: {option: n}}) and the formations in the order of the page
    (``SnapshotFormation``). Computed by the
    first search without criteria of the day after a change, read by the next ones."""

    day = models.DateField()
    generation = models.PositiveBigIntegerField()
    tallies = models.JSONField(default=dict)
    formations = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "page sans critère (pré-calculée)"
        constraints = [models.UniqueConstraint(fields=["day", "generation"], name="one_snapshot_per_day")]


class SnapshotFormation(models.Model):
    snapshot = models.ForeignKey(SearchSnapshot, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField()  # 1, 2, … in the order of the page
    formation_id = models.BigIntegerField()
    sessions = models.PositiveIntegerField()

    class Meta:
        verbose_name = "formation de la page sans critère"
        constraints = [models.UniqueConstraint(fields=["snapshot", "position"], name="snapshot_position_once")]
