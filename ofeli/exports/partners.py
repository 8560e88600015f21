"""Partner tokens, shared by the LHEO flows (H2) and the partner API (J3)."""

import hmac

from .models import Partner, hash_token

MAX_TOKEN_LENGTH = 200


def bearer_token(request):
    """The token of an ``Authorization: Bearer <token>`` header, else ""."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() in ("bearer", "token") else ""


def partner_for_token(token, *, related=()):
    """The active partner whose token this is, else None. The token is ``<prefix>.<secret>``;
    the secret is compared in constant time with the stored hash (also when no partner has
    that prefix, so timing does not tell prefixes apart). ``related``: one-to-one relations
    read in the same query (``select_related``)."""
    prefix, _, secret = (token or "").partition(".")
    if not prefix or not secret or len(token) > MAX_TOKEN_LENGTH:
        return None
    partner = Partner.objects.select_related(*related).filter(token_prefix=prefix, is_active=True).first()
    expected = partner.token_hash if partner else hash_token("not a token")
    if hmac.compare_digest(hash_token(secret), expected) and partner is not None:
        return partner
    return None
