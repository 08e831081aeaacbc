"""The Django ORM integration: Django settings from the service's configs (``settings.py``).

Imports no Django module until Django is configured (``DjangoSettings.setup``).
"""
