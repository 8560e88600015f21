"""Rules checked before a change request may be submitted (SPEC G1 and the rules of
C, E and F that concern the whole record). Field-level rules live in the forms and are
reused here so that a draft saved half-complete is still checked in full at submission."""

from .enums import ChangeKind


def problems_of(change):
    if change.kind == ChangeKind.FORMATION:
        from ofeli.formations.rules import formation_problems

        return formation_problems(change.formation_version)
    from ofeli.structures.rules import structure_problems

    return structure_problems(change.structure_version)
