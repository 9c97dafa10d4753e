"""The WSGI application gunicorn serves (bank/serve.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bank_site.settings")
application = get_wsgi_application()
