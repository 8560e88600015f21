from ofeli.core.problems import Problem


def structure_problems(version):
    problems = []
    if not (version.adresse and version.code_postal and version.ville):
        problems.append(
            Problem(
                "L'adresse de la structure est incomplète (numéro et voie, code postal, ville).",
                target="structure",
                field="adresse",
                section="coordonnees",
            )
        )
    if version.site_web and not version.site_web.startswith("https://"):
        problems.append(
            Problem(
                "L'adresse du site web doit commencer par https://.",
                target="structure",
                field="site_web",
                section="coordonnees",
            )
        )
    return problems
