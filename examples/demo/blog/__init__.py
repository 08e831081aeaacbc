"""The demo's data: a small blog on the Django ORM (SQLite), served by ``blog/api.py``."""
