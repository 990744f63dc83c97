"""Scaling out: Procrastinate workers over PostgreSQL (docs/scaling.md)."""
