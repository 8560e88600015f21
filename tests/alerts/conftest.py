from tests.public.conftest import _communes, axe_source, offer  # noqa: F401 - fixtures of the public tests
