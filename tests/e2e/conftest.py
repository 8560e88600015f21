# axe-core (pinned, vendored with npm pack by tests/public/conftest.py) for the OF and Carif pages (U1).
from tests.public.conftest import axe_source  # noqa: F401
