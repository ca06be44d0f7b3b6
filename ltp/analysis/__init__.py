"""Retained-token analysis: alignment, domain terms, statistics, projections, bundles (charts: ltp.viz)."""
