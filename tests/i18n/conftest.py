"""Every i18n test starts and ends in the default language, whatever a request left active."""

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _default_language():
    translation.deactivate()
    yield
    translation.deactivate()
