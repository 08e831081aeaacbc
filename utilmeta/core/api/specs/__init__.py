"""API specifications: ``utilmeta.core.api.specs.openapi.OpenAPI`` (UtilMeta's import path)."""
