"""Text helpers shared by forms (SPEC E4)."""

import re
import unicodedata

# Control characters that copy-paste from word processors brings along; tabs and line
# breaks are kept, everything else of category Cc/Cf (zero-width spaces, soft hyphens,
# BOM...) is removed and non-breaking spaces become plain spaces.
_KEEP = {"\n", "\t"}


def clean_pasted_text(value):
    if not value:
        return value
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for char in value:
        if char in _KEEP:
            out.append(char)
        elif char in "\u00a0\u202f\u2007":
            out.append(" ")
        elif unicodedata.category(char) in {"Cc", "Cf", "Co", "Cs"}:
            continue
        else:
            out.append(char)
    text = "".join(out)
    text = re.sub(r"[ \t]+\n", "\n", text)
    return text.strip()


def is_all_capitals(value):
    """True when a title is written in capitals (ignoring short words like acronyms)."""
    letters = [c for c in value if c.isalpha()]
    if len(letters) < 6:
        return False
    upper = sum(1 for c in letters if c.isupper())
    return upper / len(letters) > 0.8


def normalize_search(value):
    """Lower case without accents, for simple searches (SQLite) and comparisons."""
    value = unicodedata.normalize("NFKD", value or "")
    return "".join(c for c in value if not unicodedata.combining(c)).lower().strip()
