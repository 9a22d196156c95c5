"""The API's operations: one table, their handlers over the engine, the wire form of a job, the OpenAPI
document. No aiohttp.
"""
