"""Local fake servers (aiohttp) that speak external providers' protocols, for any test."""
