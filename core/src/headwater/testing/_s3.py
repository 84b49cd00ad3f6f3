"""Test server fixtures (filled in by its plugin issue)."""

__all__: list[str] = []
