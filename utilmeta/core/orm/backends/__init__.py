"""The data layer's integrations with ORMs: one package per ORM (``django/``).

An integration turns the framework-free configs (``DatabaseConnections``, ``CacheConnections``)
into what its ORM reads, and sets the ORM up. Nothing above the data layer is imported here;
the server adaptors import an integration, never the other way round.
"""
