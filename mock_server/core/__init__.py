"""The pure core: the clock, the job engine, the repository, faults, the journal, the archive. No
aiohttp, nothing from a layer above.
"""
