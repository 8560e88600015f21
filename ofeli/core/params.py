"""Request parameters that name a row: what a user may type or forge in a URL or a form is
turned into an identifier the database can hold, or None (K1: no 500 on hostile values)."""

MAX_ID = 2**63 - 1  # BigAutoField, on SQLite and PostgreSQL alike


def as_id(value):
    """A positive database identifier from ``value`` (« 12 »), else None: non-numeric, negative,
    « ² » or « ١٢ » (digits for str.isdigit, not for the database) and numbers beyond 64 bits."""
    text = str(value).strip() if value is not None else ""
    if not text or len(text) > 19 or not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None
