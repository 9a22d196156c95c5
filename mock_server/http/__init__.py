"""The HTTP edge: the aiohttp app and its request pipeline, the admin API, credentials, connections,
the running mock.
"""
