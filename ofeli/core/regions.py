"""French regions and their départements (S2): the instance's region is a setting
(``OFELI_REGION``: an INSEE region code such as « 24 », or « FR » for a national instance).

Source: INSEE Code officiel géographique 2026, through the npm package
``@etalab/decoupage-administratif@6.0.0`` (data under Licence Ouverte / Open Licence, code
MIT) — the same package as the communes file (ofeli/public/data/README.md). The code of a
region is also the one LHEO writes in ``<region>`` and the first two digits of a numéro de
déclaration d'activité delivered there.

This module has no Django import: the settings read it."""

from dataclasses import dataclass

NATIONAL = "FR"

# INSEE code -> (name, départements); the 18 regions (13 metropolitan, 5 overseas).
REGIONS = {
    "01": ("Guadeloupe", ("971",)),
    "02": ("Martinique", ("972",)),
    "03": ("Guyane", ("973",)),
    "04": ("La Réunion", ("974",)),
    "06": ("Mayotte", ("976",)),
    "11": ("Île-de-France", ("75", "77", "78", "91", "92", "93", "94", "95")),
    "24": ("Centre-Val de Loire", ("18", "28", "36", "37", "41", "45")),
    "27": ("Bourgogne-Franche-Comté", ("21", "25", "39", "58", "70", "71", "89", "90")),
    "28": ("Normandie", ("14", "27", "50", "61", "76")),
    "32": ("Hauts-de-France", ("02", "59", "60", "62", "80")),
    "44": ("Grand Est", ("08", "10", "51", "52", "54", "55", "57", "67", "68", "88")),
    "52": ("Pays de la Loire", ("44", "49", "53", "72", "85")),
    "53": ("Bretagne", ("22", "29", "35", "56")),
    "75": ("Nouvelle-Aquitaine", ("16", "17", "19", "23", "24", "33", "40", "47", "64", "79", "86", "87")),
    "76": ("Occitanie", ("09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82")),
    "84": ("Auvergne-Rhône-Alpes", ("01", "03", "07", "15", "26", "38", "42", "43", "63", "69", "73", "74")),
    "93": ("Provence-Alpes-Côte d'Azur", ("04", "05", "06", "13", "83", "84")),
    "94": ("Corse", ("2A", "2B")),
}
REGION_OF_DEPARTEMENT = {d: code for code, (_, deps) in REGIONS.items() for d in deps}
# Names of the 101 départements (INSEE Code officiel géographique, same source as above).
DEPARTEMENT_NAMES = {
    "01": "Ain", "02": "Aisne", "03": "Allier", "04": "Alpes-de-Haute-Provence", "05": "Hautes-Alpes",
    "06": "Alpes-Maritimes", "07": "Ardèche", "08": "Ardennes", "09": "Ariège", "10": "Aube", "11": "Aude",
    "12": "Aveyron", "13": "Bouches-du-Rhône", "14": "Calvados", "15": "Cantal", "16": "Charente",
    "17": "Charente-Maritime", "18": "Cher", "19": "Corrèze", "2A": "Corse-du-Sud", "2B": "Haute-Corse",
    "21": "Côte-d'Or", "22": "Côtes-d'Armor", "23": "Creuse", "24": "Dordogne", "25": "Doubs", "26": "Drôme",
    "27": "Eure", "28": "Eure-et-Loir", "29": "Finistère", "30": "Gard", "31": "Haute-Garonne", "32": "Gers",
    "33": "Gironde", "34": "Hérault", "35": "Ille-et-Vilaine", "36": "Indre", "37": "Indre-et-Loire", "38": "Isère",
    "39": "Jura", "40": "Landes", "41": "Loir-et-Cher", "42": "Loire", "43": "Haute-Loire", "44": "Loire-Atlantique",
    "45": "Loiret", "46": "Lot", "47": "Lot-et-Garonne", "48": "Lozère", "49": "Maine-et-Loire", "50": "Manche",
    "51": "Marne", "52": "Haute-Marne", "53": "Mayenne", "54": "Meurthe-et-Moselle", "55": "Meuse", "56": "Morbihan",
    "57": "Moselle", "58": "Nièvre", "59": "Nord", "60": "Oise", "61": "Orne", "62": "Pas-de-Calais",
    "63": "Puy-de-Dôme", "64": "Pyrénées-Atlantiques", "65": "Hautes-Pyrénées", "66": "Pyrénées-Orientales",
    "67": "Bas-Rhin", "68": "Haut-Rhin", "69": "Rhône", "70": "Haute-Saône", "71": "Saône-et-Loire", "72": "Sarthe",
    "73": "Savoie", "74": "Haute-Savoie", "75": "Paris", "76": "Seine-Maritime", "77": "Seine-et-Marne",
    "78": "Yvelines", "79": "Deux-Sèvres", "80": "Somme", "81": "Tarn", "82": "Tarn-et-Garonne", "83": "Var",
    "84": "Vaucluse", "85": "Vendée", "86": "Vienne", "87": "Haute-Vienne", "88": "Vosges", "89": "Yonne",
    "90": "Territoire de Belfort", "91": "Essonne", "92": "Hauts-de-Seine", "93": "Seine-Saint-Denis",
    "94": "Val-de-Marne", "95": "Val-d'Oise", "971": "Guadeloupe", "972": "Martinique", "973": "Guyane",
    "974": "La Réunion", "976": "Mayotte",
}  # fmt: skip


@dataclass(frozen=True)
class Region:
    code: str  # INSEE code, or NATIONAL
    name: str  # « Centre-Val de Loire », « France »
    departements: tuple
    national: bool = False

    @property
    def in_name(self):
        """« en Centre-Val de Loire », « en France »: for sentences of the interface."""
        return f"en {self.name}"

    @property
    def nda_authority(self):
        """Who delivers the NDA of this instance's organismes, for sentences of the interface."""
        if self.national:
            return "une DREETS (numéro de déclaration d'activité délivré en France)"
        return f"la DREETS {self.name} (numéro de déclaration d'activité commençant par {self.code})"

    def region_of(self, departement):
        """The INSEE region code of a département of this instance (LHEO <region>), else None."""
        return REGION_OF_DEPARTEMENT.get(departement) if departement in self.departements else None

    def has_nda_region(self, code):
        """True when an NDA delivered in region ``code`` is one of this instance's."""
        return code in REGIONS if self.national else code == self.code


def get_region(code):
    """The region of ``code`` (« 24 »…) or the whole country (« FR »); ValueError otherwise."""
    code = (code or "").strip().upper()
    if code == NATIONAL:
        departements = tuple(d for _, deps in REGIONS.values() for d in deps)
        return Region(NATIONAL, "France", tuple(sorted(departements)), national=True)
    if code not in REGIONS:
        raise ValueError(
            f"OFELI_REGION={code!r} : code région INSEE inconnu (attendu : {', '.join(REGIONS)} ou {NATIONAL})"
        )
    name, departements = REGIONS[code]
    return Region(code, name, departements)


def departement_of_postcode(postcode):
    """The département of a French postcode: « 36000 » → « 36 », « 97400 » → « 974 »,
    Corsica « 20000 » → « 2A », « 20200 » → « 2B » (La Poste's split at 20200)."""
    postcode = (postcode or "").strip()
    if len(postcode) != 5 or not postcode.isdigit():
        return ""
    if postcode.startswith("97"):
        return postcode[:3]
    if postcode.startswith("20"):
        return "2A" if postcode < "20200" else "2B"
    return postcode[:2]
