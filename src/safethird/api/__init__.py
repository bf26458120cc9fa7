"""The REST API under ``/v1`` (FastAPI): stateless determinations, cases, the law, variants."""

from safethird.api.app import create_app

__all__ = ["create_app"]
