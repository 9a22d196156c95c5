"""Scenario files: YAML read safely, checked against their schema, turned into settings, repository,
jobs and faults. No aiohttp.
"""
