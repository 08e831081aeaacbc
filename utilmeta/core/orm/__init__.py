"""The data layer: database connections, and declarative schemas on the Django ORM.

``DatabaseConnections({'default': Database(...)})`` configures the service's databases; with the
Django ORM it becomes Django's ``DATABASES``. ``orm.Schema[Model]`` declares the shape of an
answer and queries it without N+1 (``utilmeta/core/orm/schema.py``); ``orm.Field`` says where a
field's value comes from; ``orm.Query[Model]`` turns query parameters into a QuerySet
(``utilmeta/core/orm/query.py``). Importing this package imports no framework.
"""

from utilmeta.core.orm.atomic import Atomic
from utilmeta.core.orm.databases import Database, DatabaseConnections
from utilmeta.core.orm.fields import WP, A, Field, R, W
from utilmeta.core.orm.query import Filter, Limit, Offset, Order, OrderBy, Page, Query, Scope, Search
from utilmeta.core.orm.schema import Schema

__all__ = [
    "Atomic",
    "Database",
    "DatabaseConnections",
    "Field",
    "R",
    "W",
    "WP",
    "A",
    "Schema",
    "Query",
    "Filter",
    "OrderBy",
    "Order",
    "Offset",
    "Limit",
    "Page",
    "Scope",
    "Search",
]
