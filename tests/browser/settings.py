"""The settings the e2e stack runs with (production: DEBUG off), plus WhiteNoise finding the
admin's CSS and JS in the apps, so the browser sees the admin styled as after collectstatic
without the test writing a staticfiles/ folder into the work tree."""

from zea.settings import *  # noqa: F403

WHITENOISE_USE_FINDERS = True
