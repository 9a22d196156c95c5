"""The contract: the JSON Schemas and their validation. No aiohttp; builds on the core only."""
