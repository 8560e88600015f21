"""« Export Excel » (D5): one row per session with the search table's columns and the main
fields of the session, written with openpyxl in write-only mode (rows are streamed to disk,
memory stays bounded). Dates are real Excel dates, the header row is frozen and filtered,
columns have widths.

Every text cell is written as text, never as a formula (K1, OWASP « CSV injection »): a value
that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with a
single quote, and characters that a spreadsheet cannot hold (NUL and other control
characters) are removed."""

from django.db.models import F
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from ofeli.formations.enums import ModaliteEnseignement, Source
from ofeli.formations.models import SessionPlace
from ofeli.formations.search import ROW_FIELDS, decorate, first_of_session
from ofeli.referentials import lheo
from ofeli.referentials.enums import TrainingKind

BATCH = 1000
DATE_FORMAT = "DD/MM/YYYY"

# header, width, kind ("date" cells get the date format)
COLUMNS = (
    ("Référence", 12, "text"),
    ("Intitulé", 45, "text"),
    ("N° session", 12, "text"),
    ("Date de début", 13, "date"),
    ("Date de fin", 13, "date"),
    ("OF Formateur", 30, "text"),
    ("Dispositif", 35, "text"),
    ("État", 24, "text"),
    ("Dpt", 6, "text"),
    ("Ville", 22, "text"),
    ("Organisme responsable", 30, "text"),
    ("SIRET organisme responsable", 17, "text"),
    ("Financeur", 30, "text"),
    ("N° marché", 16, "text"),
    ("Nb places", 10, "number"),
    ("État des financements", 22, "text"),
    ("Type de formation", 22, "text"),
    ("Modalité d'enseignement", 30, "text"),
    ("Durée en centre (heures)", 12, "number"),
    ("Durée en entreprise (heures)", 12, "number"),
    ("Durée totale (heures)", 12, "number"),
    ("Durée hebdomadaire (heures)", 12, "number"),
    ("Session à la demande", 10, "text"),
    ("Entrée-sortie permanente", 10, "text"),
    ("Lieu de formation", 30, "text"),
    ("Adresse du lieu", 40, "text"),
    ("Code postal", 10, "text"),
    ("Début d'inscription", 13, "date"),
    ("Fin d'inscription", 13, "date"),
    ("Certification", 40, "text"),
    ("Code RNCP", 10, "text"),
    ("Code RS", 10, "text"),
    ("Code Certifinfo", 10, "text"),
    ("Niveau de sortie", 22, "text"),
    ("Site web de la formation", 35, "text"),
    ("Source", 22, "text"),
    ("Dernière publication", 13, "date"),
)

EXTRA_FIELDS = (
    "formation__structure__siret",
    "formation__published_at",
    "certification__intitule",
    "certification__code_rncp",
    "certification__code_rs",
    "certification__code_certifinfo",
    "niveau_sortie",
    "site_web",
    "s_kind",
    "s_modalite",
    "s_centre",
    "s_entreprise",
    "s_totale",
    "s_hebdo",
    "s_demande",
    "s_esp",
    "s_debut_inscription",
    "s_fin_inscription",
    "lieu_nom",
    "lieu_adresse",
)
# Values of each financement read with the rows (``decorate``) for the financing columns.
FINANCEMENT_FIELDS = ("financeur__libelle", "numero_marche", "nb_places")


def excel_rows(qs):
    """The rows of the export: the search rows with the session's main fields."""
    return qs.annotate(
        s_kind=F("sessions__kind"),
        s_modalite=F("sessions__modalite_enseignement"),
        s_centre=F("sessions__duree_centre"),
        s_entreprise=F("sessions__duree_entreprise"),
        s_totale=F("sessions__duree_totale"),
        s_hebdo=F("sessions__duree_hebdomadaire"),
        s_demande=F("sessions__a_la_demande"),
        s_esp=F("sessions__entree_sortie_permanente"),
        s_debut_inscription=F("sessions__debut_inscription"),
        s_fin_inscription=F("sessions__fin_inscription"),
        lieu_nom=first_of_session(SessionPlace, "lieu__nom"),
        lieu_adresse=first_of_session(SessionPlace, "lieu__adresse"),
    ).values(*ROW_FIELDS, *EXTRA_FIELDS)


FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value):
    """A text value that a spreadsheet shows as typed and never runs (OWASP)."""
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if value.startswith(FORMULA_TRIGGERS):
        value = "'" + value
    return value


def _text_cell(ws, value):
    """``value`` as a cell whose type is text: openpyxl would read a value starting with
    « = » as a formula and one like « #N/A » as an error."""
    value = safe_text(value)
    if value in ERROR_CODES:
        cell = WriteOnlyCell(ws, value=value)
        cell.data_type = "s"
        return cell
    return value


def _yes(value):
    if value is None:
        return ""
    return "Oui" if value else "Non"


def _label(choices, value):
    if not value:
        return ""
    try:
        return choices(value).label
    except ValueError:
        return str(value)


def _local_date(moment):
    if moment is None:
        return None
    return timezone.localtime(moment).date()


def _financing_details(rows):
    """Financeurs, marchés and places of each row, from its financements."""
    for row in rows:
        row["financeurs"], row["marches"], row["places"] = [], [], None
        for fin in row["financements"]:
            if fin["financeur__libelle"] not in row["financeurs"]:
                row["financeurs"].append(fin["financeur__libelle"])
            if fin["numero_marche"]:
                row["marches"].append(fin["numero_marche"])
            if fin["nb_places"] is not None:
                row["places"] = (row["places"] or 0) + fin["nb_places"]


def _values(row, niveaux):
    return [
        row["formation__reference"],
        row["intitule"],
        row["s_ref"] or "",
        row["debut"],
        row["fin"],
        row["formateur"] or "",
        "; ".join(f["dispositif__libelle"] for f in row["financements"]),
        row["state_label"],
        row["dpt"],
        row["ville"] or "",
        row["formation__structure__nom"],
        row["formation__structure__siret"],
        "; ".join(row["financeurs"]),
        "; ".join(row["marches"]),
        row["places"],
        "; ".join(f["dot_label"] for f in row["financements"]),
        _label(TrainingKind, row["s_kind"]),
        _label(ModaliteEnseignement, row["s_modalite"]),
        row["s_centre"],
        row["s_entreprise"],
        row["s_totale"],
        row["s_hebdo"],
        _yes(row["s_demande"]),
        _yes(row["s_esp"]),
        row["lieu_nom"] or "",
        row["lieu_adresse"] or "",
        row["code_postal"] or "",
        row["s_debut_inscription"],
        row["s_fin_inscription"],
        row["certification__intitule"] or "",
        row["certification__code_rncp"] or "",
        row["certification__code_rs"] or "",
        row["certification__code_certifinfo"] or "",
        niveaux.get(row["niveau_sortie"], row["niveau_sortie"] or ""),
        row["site_web"] or "",
        _label(Source, row["formation__source"]),
        _local_date(row["formation__published_at"]),
    ]


def write_excel(path, qs, *, total=None, progress=None):
    """Write the rows of ``qs`` (search rows, ordered) to the .xlsx file ``path``; returns the
    number of rows. ``progress(done, total)`` is called after each batch."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Sessions")
    ws.freeze_panes = "A2"
    last = get_column_letter(len(COLUMNS))
    ws.auto_filter.ref = f"A1:{last}1"
    for index, (_header, width, _kind) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="E3E3FD")
    wrap = Alignment(vertical="top", wrap_text=True)
    header = []
    for title, _width, _kind in COLUMNS:
        cell = WriteOnlyCell(ws, value=title)
        cell.font, cell.fill, cell.alignment = bold, fill, wrap
        header.append(cell)
    ws.append(header)
    date_columns = [i for i, (_t, _w, kind) in enumerate(COLUMNS) if kind == "date"]
    niveaux = dict(lheo.entries(lheo.NIVEAUX))
    count = 0
    batch = []

    def flush():
        nonlocal count
        decorate(batch, FINANCEMENT_FIELDS)
        _financing_details(batch)
        for row in batch:
            values = [_text_cell(ws, value) if isinstance(value, str) else value for value in _values(row, niveaux)]
            for i in date_columns:
                if values[i] is not None:
                    cell = WriteOnlyCell(ws, value=values[i])
                    cell.number_format = DATE_FORMAT
                    values[i] = cell
            ws.append(values)
        count += len(batch)
        batch.clear()
        if progress is not None:
            progress(count, total)

    for row in excel_rows(qs).iterator(chunk_size=BATCH):
        batch.append(row)
        if len(batch) == BATCH:
            flush()
    if batch:
        flush()
    wb.save(path)
    return count
