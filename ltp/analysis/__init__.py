"""Retained-token analysis: alignment, domain terms, statistics, projections, charts, bundles."""
