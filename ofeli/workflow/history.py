from .models import HistoryEntry


def record(action, author, *, structure=None, formation=None, change_request=None, comment="", details=""):
    if formation is not None and structure is None:
        structure = formation.structure
    return HistoryEntry.objects.create(
        action=action,
        author=author if getattr(author, "is_authenticated", False) else None,
        structure=structure,
        formation=formation,
        change_request=change_request,
        comment=comment,
        details=details,
    )
