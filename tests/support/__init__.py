"""What the tiers share: constants, the API client over a socket, the dev server as a process, waiting
on a condition (never a sleep that orders events), the proxy's fake authors, and the lifecycle model."""
