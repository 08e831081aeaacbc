"""The data layer: database connections (and, with Django, its ORM).

``DatabaseConnections({'default': Database(...)})`` configures the service's databases; with the
Django ORM it becomes Django's ``DATABASES``.
"""

from utilmeta.core.orm.databases import Database, DatabaseConnections

__all__ = ["Database", "DatabaseConnections"]
