"""Recordings of a real author: tapes of its exchanges, and what can be made of them. No aiohttp."""
